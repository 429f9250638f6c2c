//! Helpers shared by the UI tests (each runs under Slint's testing backend).
#![allow(dead_code)]

use cmr_kiosk::ui::shell::Shell;
use i_slint_backend_testing::ElementHandle;

/// The element with the qualified id `Component::id`.
pub fn element(shell: &Shell, id: &str) -> ElementHandle {
    ElementHandle::find_by_element_id(shell.app(), id)
        .next()
        .unwrap_or_else(|| panic!("element {id} exists"))
}

/// The accessible label (for a text: the text) of the element with that id.
pub fn label_of(shell: &Shell, id: &str) -> String {
    element(shell, id)
        .accessible_label()
        .map(|s| s.to_string())
        .unwrap_or_default()
}

/// Whether any element carries this accessible label.
pub fn has_label(shell: &Shell, label: &str) -> bool {
    ElementHandle::find_by_accessible_label(shell.app(), label)
        .next()
        .is_some()
}

/// Touches the control with this accessible label (its default action).
pub fn tap(shell: &Shell, label: &str) {
    ElementHandle::find_by_accessible_label(shell.app(), label)
        .next()
        .unwrap_or_else(|| panic!("a control labelled {label:?}"))
        .invoke_accessible_default_action();
    shell.settle();
}
