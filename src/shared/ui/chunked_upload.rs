//! Sending a large file to the server a part at a time, in order: one request per part keeps every request under
//! the body limit, and the page shows how far it got. A part the server refuses stops the upload and says which;
//! sending again from that part is safe (each feature's server takes a part it already has as a repeat).

use std::future::Future;

use leptos::{prelude::*, task::spawn_local};

use crate::shared::error::AppError;

/// Where an upload stands: parts sent of all, and how it ended.
#[derive(Clone, Copy)]
pub struct ChunkedUpload {
    progress: RwSignal<Option<(usize, usize)>>,
    outcome: RwSignal<Option<Result<String, String>>>,
}

impl Default for ChunkedUpload {
    fn default() -> Self {
        Self {
            progress: RwSignal::new(None),
            outcome: RwSignal::new(None),
        }
    }
}

impl ChunkedUpload {
    /// Forgets the last upload, for a new file.
    pub fn clear(self) {
        self.progress.set(None);
        self.outcome.set(None);
    }

    /// Whether parts are being sent now.
    pub fn sending(self) -> bool {
        self.progress
            .get()
            .is_some_and(|(done, total)| done < total)
            && self.outcome.get().is_none()
    }

    /// The part a refused upload stopped at, to send again from.
    pub fn stopped_at(self) -> Option<usize> {
        let failed = matches!(self.outcome.get(), Some(Err(_)));
        self.progress
            .get()
            .filter(|(done, total)| failed && done < total)
            .map(|(done, _)| done)
    }

    /// Sends `parts` from the one numbered `start` (from 0), one after the other, with `send(index, part)`; once
    /// all are sent, the outcome is what `finished(count of parts)` says.
    pub fn send<Part, Send, Sent>(
        self,
        parts: Vec<Part>,
        start: usize,
        send: Send,
        finished: impl FnOnce(usize) -> String + 'static,
    ) where
        Part: 'static,
        Send: Fn(usize, Part) -> Sent + 'static,
        Sent: Future<Output = Result<(), AppError>> + 'static,
    {
        self.outcome.set(None);
        spawn_local(async move {
            let total = parts.len();
            self.progress.set(Some((start, total)));
            for (index, part) in parts.into_iter().enumerate().skip(start) {
                if let Err(error) = send(index, part).await {
                    self.outcome.set(Some(Err(format!(
                        "Part {} of {total} was not accepted: {error}",
                        index + 1
                    ))));
                    return;
                }
                self.progress.set(Some((index + 1, total)));
            }
            self.outcome.set(Some(Ok(finished(total))));
        });
    }
}

/// The progress bar of an upload, with how many parts were sent.
#[component]
pub fn UploadProgress(upload: ChunkedUpload, label: &'static str) -> impl IntoView {
    move || {
        upload.progress.get().map(|(done, total)| {
            view! {
                <div class="flex items-center gap-2 text-sm text-slate-600">
                    <progress max=total value=done class="h-2 w-48" aria-label=label></progress>
                    <span>{format!("{done} of {total} part(s) sent")}</span>
                </div>
            }
        })
    }
}

/// How an upload ended: what was sent, or the part that was refused and why.
#[component]
pub fn UploadOutcome(upload: ChunkedUpload) -> impl IntoView {
    move || {
        upload.outcome.get().map(|result| match result {
            Ok(message) => view! { <p role="status" class="mt-3 text-sm text-emerald-700" data-upload-outcome>{message}</p> }.into_any(),
            Err(message) => view! { <p role="alert" class="mt-3 text-sm text-red-700">{message}</p> }.into_any(),
        })
    }
}
