//! Running a user rule script in a sandboxed JavaScript engine (QuickJS).
//!
//! The sandbox is a bare QuickJS runtime: the language and its standard objects only, no
//! module loader, no `require`, `process`, file, network or timer access (rquickjs adds
//! none of those unless asked). Each evaluation gets a fresh runtime with a memory cap
//! and an interrupt handler that stops it at a wall-clock deadline.

use std::time::{Duration, Instant};

use rquickjs::{Context, Function, Object, Runtime, Value};

/// Longest a rule may run.
pub const DEADLINE: Duration = Duration::from_millis(50);
/// Most memory a rule's runtime may allocate.
pub const MEMORY_LIMIT: usize = 16 * 1024 * 1024;

/// Why a rule produced no usable result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// The engine could not start.
    #[error("the script engine could not start: {0}")]
    Engine(String),
    /// The script does not compile or threw (including deadline and memory limit).
    #[error("the rule failed: {0}")]
    Script(String),
    /// The script did not return a non-empty string.
    #[error("the rule returned {0} instead of a non-empty string")]
    NotAString(String),
}

/// The parameter list a bare function body is wrapped in.
const PARAMS: &str = "{ issueId, name, type, message, source }";

/// Evaluates `script` (a function expression, or a bare function body) with `input`
/// (string fields) as its single argument, and returns the string it returns.
pub fn evaluate(script: &str, input: &[(&str, &str)]) -> Result<String, EvalError> {
    let runtime = Runtime::new().map_err(|e| EvalError::Engine(e.to_string()))?;
    runtime.set_memory_limit(MEMORY_LIMIT);
    runtime.set_max_stack_size(512 * 1024);
    let deadline = Instant::now() + DEADLINE;
    runtime.set_interrupt_handler(Some(Box::new(move || Instant::now() > deadline)));
    let context = Context::full(&runtime).map_err(|e| EvalError::Engine(e.to_string()))?;
    context.with(|ctx| {
        let describe = |e: rquickjs::Error| -> EvalError {
            let detail = match e {
                rquickjs::Error::Exception => {
                    let caught = ctx.catch();
                    caught
                        .as_exception()
                        .map(|ex| ex.message().unwrap_or_default())
                        .or_else(|| caught.as_string().and_then(|s| s.to_string().ok()))
                        .unwrap_or_else(|| "exception".into())
                }
                other => other.to_string(),
            };
            EvalError::Script(detail)
        };
        let source = script.trim().trim_end_matches(';');
        let function: Function<'_> = match ctx.eval::<Value<'_>, _>(format!("({source})")) {
            Ok(v) if v.is_function() => v.into_function().expect("checked is_function"),
            _ => {
                // Not an expression (or not a function): a bare body.
                let _ = ctx.catch();
                ctx.eval::<Function<'_>, _>(format!("(({PARAMS}) => {{\n{script}\n}})"))
                    .map_err(describe)?
            }
        };
        let arg = Object::new(ctx.clone()).map_err(describe)?;
        for (key, value) in input {
            arg.set(*key, *value).map_err(describe)?;
        }
        let result: Value<'_> = function.call((arg,)).map_err(describe)?;
        match result.as_string().and_then(|s| s.to_string().ok()) {
            Some(s) if !s.trim().is_empty() => Ok(s),
            Some(_) => Err(EvalError::NotAString("an empty string".into())),
            None => Err(EvalError::NotAString(format!(
                "a value of type {}",
                result.type_name()
            ))),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const INPUT: [(&str, &str); 3] = [
        ("issueId", "PROJ-7"),
        ("name", "Login Page"),
        ("type", "feature"),
    ];

    #[test]
    fn function_expressions_and_bare_bodies() {
        assert_eq!(
            evaluate("({ issueId, name }) => `${issueId}-${name}`", &INPUT).unwrap(),
            "PROJ-7-Login Page"
        );
        assert_eq!(
            evaluate("function (x) { return x.type + '/' + x.issueId }", &INPUT).unwrap(),
            "feature/PROJ-7"
        );
        assert_eq!(
            evaluate("return `feature/${issueId}-${name}`", &INPUT).unwrap(),
            "feature/PROJ-7-Login Page"
        );
        assert_eq!(
            evaluate("const s = name.toLowerCase();\nreturn s;", &INPUT).unwrap(),
            "login page"
        );
    }

    #[test]
    fn failures_are_reported_not_panicked() {
        assert!(
            matches!(evaluate("() => { throw new Error('nope') }", &INPUT), Err(EvalError::Script(m)) if m.contains("nope"))
        );
        assert!(matches!(
            evaluate("() => 42", &INPUT),
            Err(EvalError::NotAString(_))
        ));
        assert!(matches!(
            evaluate("() => '  '", &INPUT),
            Err(EvalError::NotAString(_))
        ));
        assert!(matches!(
            evaluate("this is not javascript {", &INPUT),
            Err(EvalError::Script(_))
        ));
    }

    #[test]
    fn the_sandbox_has_no_host_access() {
        for script in [
            "return require('fs').readFileSync('/etc/passwd', 'utf8')",
            "return process.env.HOME",
            "return fetch('http://example.com')",
            "return import('os')",
            "return std.getenv('HOME')",
        ] {
            assert!(evaluate(script, &INPUT).is_err(), "{script}");
        }
    }

    #[test]
    fn runaway_scripts_are_stopped() {
        let started = Instant::now();
        assert!(evaluate("while (true) {}", &INPUT).is_err());
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        let started = Instant::now();
        assert!(
            evaluate(
                "const a = []; while (true) { a.push('x'.repeat(1e6)) }",
                &INPUT
            )
            .is_err()
        );
        assert!(evaluate("return 'x'.repeat(1e9)", &INPUT).is_err());
        assert!(evaluate("const f = () => f(); return f()", &INPUT).is_err());
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
}
