//! Reading the screen: does a quiet terminal ask its person something?
//!
//! Only the bottom of the screen counts (where a prompt waits), and only phrases that
//! agents and tools use to ask: a yes/no choice, a numbered choice under a cursor, "Do you
//! want to ...", "Allow ...?", "Press Enter". A question that scrolled up is history,
//! not a prompt.

use std::sync::LazyLock;

use regex::Regex;

/// How many non-blank lines from the bottom are read.
pub const PROMPT_LINES: usize = 8;

/// Phrases that ask (matched in lower case).
const ASKING: [&str; 10] = [
    "do you want to",
    "would you like to",
    "allow ",
    "press enter",
    "proceed?",
    "continue?",
    "are you sure",
    "waiting for your",
    "needs your permission",
    "apply this change?",
];

/// `(y/n)`, `[Y/n]`, `(yes/no)`, ...
static YES_NO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)[\[(]\s*y(es)?\s*/\s*n(o)?\s*[\])]").expect("a valid pattern")
});

/// A numbered choice under a cursor: `❯ 1. Yes`, `> 1) Allow`, `› 2. No`.
static CHOICE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*[│|]?\s*[❯>›]\s*\d+[.)]\s+\S").expect("a valid pattern"));

/// Whether the bottom of `screen` (the visible text, one line per row) asks for input.
pub fn asks_for_input(screen: &str) -> bool {
    screen
        .lines()
        .rev()
        .filter(|l| !l.trim().is_empty())
        .take(PROMPT_LINES)
        .any(|line| {
            let lower = line.to_lowercase();
            YES_NO.is_match(line)
                || CHOICE.is_match(line)
                || ASKING.iter().any(|p| lower.contains(p))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_of_agents_and_tools_are_recognised() {
        for screen in [
            "Overwrite file? (y/n)",
            "Continue [Y/n] ",
            "Do you want to proceed?\n❯ 1. Yes\n  2. No",
            "│ > 1. Allow once\n│   2. Deny",
            "Allow command `rm -rf build`?",
            "Press Enter to continue",
            "Apply this change?",
        ] {
            assert!(asks_for_input(screen), "{screen:?}");
        }
    }

    #[test]
    fn output_and_old_questions_are_not_prompts() {
        assert!(!asks_for_input(""));
        assert!(!asks_for_input(
            "Compiling openkit v0.1.0\nFinished dev profile"
        ));
        assert!(!asks_for_input("step 1. build\n$ "));
        let scrolled: String = std::iter::once("Continue? (y/n) y\n".to_string())
            .chain((0..PROMPT_LINES).map(|i| format!("line {i}\n")))
            .collect();
        assert!(
            !asks_for_input(&scrolled),
            "a question scrolled away is history"
        );
    }
}
