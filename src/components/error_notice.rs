use leptos::prelude::*;

/// The message a server function failed with, without the framework's prefix.
pub fn server_error_message(error: &ServerFnError) -> String {
    match error {
        ServerFnError::ServerError(message) => message.clone(),
        other => other.to_string(),
    }
}

#[component]
pub fn ErrorNotice(error: ServerFnError) -> impl IntoView {
    view! {
        <p role="alert" class="rounded-md border border-red-200 bg-red-50 px-4 py-3 text-sm text-red-800">
            {server_error_message(&error)}
        </p>
    }
}
