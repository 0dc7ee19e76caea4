//! Proptest twins of the `rule_inputs` and `task_context` fuzz targets.

#[path = "props/context.rs"]
mod context_props;
#[path = "props/rules.rs"]
mod rule_props;

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn branch_names_from_any_input_are_valid(
        issue_id in "\\PC{0,24}",
        name in prop_oneof!["\\PC{0,60}", "[a-zA-Z ./:-]{0,40}", Just("`${process.exit()}`".to_string())],
        kind in "[a-z/. -]{0,12}",
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = rule_props::pass_through_store(dir.path());
        prop_assert!(rule_props::branch_inputs(&store, &issue_id, &name, &kind));
    }

    #[test]
    fn task_context_markdown_holds_its_shape(fields in proptest::collection::vec("\\PC{0,80}", 0..7)) {
        prop_assert!(context_props::render(&fields));
    }

    #[test]
    fn raw_text_through_the_fuzz_entry_points(text in "[\\PC\n\u{1e}]{0,160}") {
        let dir = tempfile::tempdir().unwrap();
        let store = rule_props::pass_through_store(dir.path());
        prop_assert!(rule_props::lines(&store, &text));
        prop_assert!(context_props::lines(&text));
    }
}
