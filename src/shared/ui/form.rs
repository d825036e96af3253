//! Form fields, their messages and the button styles every form uses.

use leptos::prelude::*;

use crate::shared::error::AppError;

pub const INPUT_CLASS: &str = "mt-1 block w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm \
                               shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-1 focus:ring-indigo-500 \
                               aria-[invalid=true]:border-red-500";
pub const PRIMARY_BUTTON_CLASS: &str = "inline-flex items-center justify-center rounded-md bg-indigo-600 px-4 py-2 \
                                        text-sm font-semibold text-white shadow-sm hover:bg-indigo-500 \
                                        disabled:opacity-60";
pub const SECONDARY_BUTTON_CLASS: &str = "inline-flex items-center rounded-md border border-slate-300 bg-white px-3 \
                                          py-1.5 text-sm font-medium text-slate-700 hover:bg-slate-50";

/// The error message for `field` from the latest result of a server action, to show beside that field.
pub fn field_error<T: 'static>(
    result: impl With<Value = Option<Result<T, AppError>>> + Copy + Send + Sync + 'static,
    field: &'static str,
) -> Signal<Option<String>> {
    Signal::derive(move || {
        result.with(|r| {
            r.as_ref()
                .and_then(|r| r.as_ref().err())
                .and_then(|e| e.for_field(field))
        })
    })
}

/// The error of the latest result that is not about a single field, to show above the submit button.
pub fn form_error<T: 'static>(
    result: impl With<Value = Option<Result<T, AppError>>> + Copy + Send + Sync + 'static,
) -> Signal<Option<String>> {
    Signal::derive(move || {
        result.with(|r| match r.as_ref().and_then(|r| r.as_ref().err()) {
            Some(AppError::Invalid { .. }) | None => None,
            Some(other) => Some(other.to_string()),
        })
    })
}

#[component]
pub fn TextField(
    label: &'static str,
    name: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(into, optional)] error: Signal<Option<String>>,
) -> impl IntoView {
    let error_id = format!("{name}-error");
    view! {
        <label class="block">
            <span class="text-sm font-medium text-slate-700">{label}</span>
            <input
                type=kind
                name=name
                autocomplete=autocomplete
                required=true
                class=INPUT_CLASS
                aria-invalid=move || error.get().is_some().to_string()
                aria-describedby=error_id.clone()
            />
            <FieldMessage id=error_id message=error/>
        </label>
    }
}

#[component]
pub fn FieldMessage(id: String, message: Signal<Option<String>>) -> impl IntoView {
    view! {
        <p id=id class="mt-1 text-sm text-red-700" aria-live="polite">
            {move || message.get()}
        </p>
    }
}

#[component]
pub fn FormAlert(message: Signal<Option<String>>) -> impl IntoView {
    view! {
        {move || {
            message
                .get()
                .map(|text| {
                    view! {
                        <p role="alert" class="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
                            {text}
                        </p>
                    }
                })
        }}
    }
}
