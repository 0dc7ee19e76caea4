//! One agent session's attention state: hooks believed at once, the screen's guesses
//! smoothed.

use std::time::{Duration, Instant};

use super::{AttentionSource, AttentionState, HookEvent};

/// No output for this long makes a session quiet.
pub const QUIET: Duration = Duration::from_millis(1500);
/// A guess from the screen must hold this long before it is reported.
pub const SETTLE: Duration = Duration::from_millis(1000);
/// Output this soon after input is the terminal echoing the person's typing, not work.
pub const ECHO: Duration = Duration::from_millis(150);

/// What an agent's hooks report, and so how much the screen is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    /// Every state (Claude Code: prompt submitted, tool used, permission asked, stopped).
    Full,
    /// Only the end of a turn (Codex's notify program).
    TurnEnd,
    /// Nothing (Gemini CLI, OpenCode, anything else): the screen alone.
    None,
}

impl Coverage {
    /// What OpenKit's launch hooks cover for `agent`.
    pub fn of(agent: &str) -> Self {
        match agent {
            "claude" => Coverage::Full,
            "codex" => Coverage::TurnEnd,
            _ => Coverage::None,
        }
    }
}

/// A state change the tracker decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// Before.
    pub from: AttentionState,
    /// After.
    pub to: AttentionState,
    /// Why.
    pub source: AttentionSource,
    /// A hook reported a finished turn.
    pub finished_turn: bool,
}

/// The state machine of one agent session. Time comes in as arguments, so it is tested
/// without sleeping.
#[derive(Debug, Clone)]
pub struct AttentionTracker {
    coverage: Coverage,
    state: AttentionState,
    source: AttentionSource,
    last_output: Option<Instant>,
    /// When the current stretch of output began (gaps shorter than [`QUIET`] continue it).
    burst_start: Option<Instant>,
    last_input: Option<Instant>,
    last_hook: Option<Instant>,
    candidate: Option<(AttentionState, Instant)>,
}

impl AttentionTracker {
    /// A session that was just launched (`starting`).
    pub fn new(coverage: Coverage) -> Self {
        AttentionTracker {
            coverage,
            state: AttentionState::Starting,
            source: AttentionSource::Process,
            last_output: None,
            burst_start: None,
            last_input: None,
            last_hook: None,
            candidate: None,
        }
    }

    /// The current state and where it came from.
    pub fn state(&self) -> (AttentionState, AttentionSource) {
        (self.state, self.source)
    }

    /// The program wrote output at `now`.
    pub fn output(&mut self, now: Instant) {
        if self
            .last_input
            .is_some_and(|input| now.saturating_duration_since(input) < ECHO)
        {
            return;
        }
        let continues = self
            .last_output
            .is_some_and(|last| now.saturating_duration_since(last) < QUIET);
        if !continues {
            self.burst_start = Some(now);
        }
        self.last_output = Some(now);
    }

    /// The person typed at `now`: after a hook, the screen is listened to again (unless
    /// the agent's hooks report everything).
    pub fn input(&mut self, now: Instant) {
        self.last_input = Some(now);
    }

    /// The agent's hook reported `event` at `now`: believed at once.
    pub fn hook(&mut self, event: HookEvent, now: Instant) -> Option<Transition> {
        if self.state == AttentionState::Exited {
            return None;
        }
        self.last_hook = Some(now);
        self.candidate = None;
        let finished = event == HookEvent::Finished;
        let to = event.state();
        if to == self.state && !finished {
            self.source = AttentionSource::Hook;
            return None;
        }
        Some(self.set(to, AttentionSource::Hook, finished))
    }

    /// The process ended.
    pub fn exited(&mut self) -> Option<Transition> {
        (self.state != AttentionState::Exited)
            .then(|| self.set(AttentionState::Exited, AttentionSource::Process, false))
    }

    /// Whether the screen may speak now: never after a hook of an agent whose hooks
    /// report everything, and after any other hook only once the person typed again.
    fn screen_listened(&self) -> bool {
        match self.last_hook {
            None => true,
            Some(_) if self.coverage == Coverage::Full => false,
            Some(hook) => self.last_input.is_some_and(|input| input > hook),
        }
    }

    /// Re-reads the situation at `now`; `asks_for_input` reads the screen (called only
    /// when the session is quiet). Output that has gone on for [`SETTLE`] is work; a screen
    /// quiet for [`QUIET`] is a question or idleness once that guess has held for
    /// [`SETTLE`].
    pub fn tick(
        &mut self,
        now: Instant,
        asks_for_input: impl FnOnce() -> bool,
    ) -> Option<Transition> {
        if self.state == AttentionState::Exited || !self.screen_listened() {
            self.candidate = None;
            return None;
        }
        let (Some(out), Some(burst)) = (self.last_output, self.burst_start) else {
            return None; // nothing shown yet: still starting
        };
        if now.saturating_duration_since(out) < QUIET {
            // Output goes on: work once it has lasted SETTLE (a redraw is not work).
            self.candidate = None;
            let sustained = out.saturating_duration_since(burst) >= SETTLE;
            return (sustained && self.state != AttentionState::Working)
                .then(|| self.set(AttentionState::Working, AttentionSource::Screen, false));
        }
        let guess = if asks_for_input() {
            AttentionState::WaitingForInput
        } else {
            AttentionState::Idle
        };
        if guess == self.state {
            self.candidate = None;
            return None;
        }
        match self.candidate {
            Some((candidate, since)) if candidate == guess => {
                if now.saturating_duration_since(since) >= SETTLE {
                    self.candidate = None;
                    return Some(self.set(guess, AttentionSource::Screen, false));
                }
            }
            _ => self.candidate = Some((guess, now)),
        }
        None
    }

    fn set(&mut self, to: AttentionState, source: AttentionSource, finished: bool) -> Transition {
        let from = self.state;
        self.state = to;
        self.source = source;
        Transition {
            from,
            to,
            source,
            finished_turn: finished,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AttentionState::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Ticks every 250 ms from `from` to `to` (ms after `t0`), collecting transitions.
    fn run(
        tr: &mut AttentionTracker,
        t0: Instant,
        from: u64,
        to: u64,
        asks: bool,
    ) -> Vec<AttentionState> {
        (from..=to)
            .step_by(250)
            .filter_map(|t| tr.tick(t0 + ms(t), || asks).map(|x| x.to))
            .collect()
    }

    #[test]
    fn the_screen_alone_settles_before_it_speaks() {
        let t0 = Instant::now();
        let mut tr = AttentionTracker::new(Coverage::None);
        assert_eq!(
            run(&mut tr, t0, 0, 2000, false),
            vec![],
            "no output: still starting"
        );
        for t in (2000..4000).step_by(100) {
            tr.output(t0 + ms(t));
        }
        // Working once the output has lasted SETTLE.
        assert_eq!(run(&mut tr, t0, 2000, 3500, false), vec![Working]);
        // Quiet and asking: waiting, QUIET + SETTLE after the last output.
        assert_eq!(run(&mut tr, t0, 3750, 7000, true), vec![WaitingForInput]);
        assert_eq!(tr.state(), (WaitingForInput, AttentionSource::Screen));
    }

    #[test]
    fn a_short_burst_does_not_flicker() {
        let t0 = Instant::now();
        let mut tr = AttentionTracker::new(Coverage::None);
        for t in (0..1200).step_by(100) {
            tr.output(t0 + ms(t));
        }
        assert_eq!(run(&mut tr, t0, 0, 5000, false), vec![Working, Idle]);
        // A redraw of a few hundred milliseconds while idle is not work.
        tr.output(t0 + ms(5100));
        tr.output(t0 + ms(5300));
        assert_eq!(run(&mut tr, t0, 5250, 10_000, false), vec![]);
        assert_eq!(tr.state().0, Idle);
    }

    #[test]
    fn typing_echo_is_not_work() {
        let t0 = Instant::now();
        let mut tr = AttentionTracker::new(Coverage::None);
        tr.output(t0);
        assert_eq!(
            run(&mut tr, t0, 0, 5000, false),
            vec![Idle],
            "one line is not work"
        );
        for t in (5000..8000).step_by(200) {
            tr.input(t0 + ms(t));
            tr.output(t0 + ms(t + 20));
        }
        assert_eq!(run(&mut tr, t0, 5000, 9000, false), vec![]);
    }

    #[test]
    fn full_hooks_are_believed_at_once_and_silence_the_screen() {
        let t0 = Instant::now();
        let mut tr = AttentionTracker::new(Coverage::Full);
        let hook = |tr: &mut AttentionTracker, e, t| tr.hook(e, t0 + ms(t)).map(|x| x.to);
        assert_eq!(hook(&mut tr, HookEvent::Idle, 10), Some(Idle));
        assert_eq!(hook(&mut tr, HookEvent::Working, 20), Some(Working));
        // The agent prints a question-like line and goes quiet: the hooks know better.
        tr.output(t0 + ms(30));
        tr.input(t0 + ms(40));
        assert_eq!(run(&mut tr, t0, 0, 6000, true), vec![]);
        assert_eq!(
            hook(&mut tr, HookEvent::WaitingForInput, 6000),
            Some(WaitingForInput)
        );
        let done = tr.hook(HookEvent::Finished, t0 + ms(7000)).unwrap();
        assert!(done.finished_turn);
        assert_eq!((done.from, done.to), (WaitingForInput, Idle));
        assert_eq!(tr.exited().map(|x| x.to), Some(Exited));
        assert_eq!(tr.exited(), None);
        assert_eq!(
            hook(&mut tr, HookEvent::Working, 8000),
            None,
            "exited stays exited"
        );
    }

    #[test]
    fn after_a_turn_end_hook_the_screen_waits_for_the_person() {
        let t0 = Instant::now();
        let mut tr = AttentionTracker::new(Coverage::TurnEnd);
        for t in (0..1100).step_by(100) {
            tr.output(t0 + ms(t));
        }
        assert_eq!(run(&mut tr, t0, 0, 1000, false), vec![Working]);
        assert_eq!(
            tr.hook(HookEvent::Finished, t0 + ms(1100)).map(|x| x.to),
            Some(Idle)
        );
        // Its final output keeps coming for a moment: still idle (the hook said so).
        tr.output(t0 + ms(1200));
        assert_eq!(run(&mut tr, t0, 1250, 4000, false), vec![]);
        // The person answers; the agent works again, on screen.
        tr.input(t0 + ms(5000));
        for t in (5200..8000).step_by(100) {
            tr.output(t0 + ms(t));
        }
        assert_eq!(run(&mut tr, t0, 5250, 7000, false), vec![Working]);
    }
}
