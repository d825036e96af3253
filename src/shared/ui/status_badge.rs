//! Status badges: a status's name in a coloured pill, the same colour meaning the same thing on every page.

/// What a status means for the reader, whatever the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// Not started (a draft, a queued batch).
    Neutral,
    /// Waiting for its time or its turn.
    Info,
    /// Under way right now.
    Progress,
    /// Needs a look: paused, or finished with problems.
    Warning,
    Success,
    /// Stopped for good: failed or cancelled.
    Danger,
}

/// The classes of a badge in `tone` (whole names, so that Tailwind finds them).
pub fn badge_class(tone: Tone) -> &'static str {
    match tone {
        Tone::Neutral => "rounded-full px-2 py-0.5 text-xs font-medium bg-slate-100 text-slate-700",
        Tone::Info => "rounded-full px-2 py-0.5 text-xs font-medium bg-sky-100 text-sky-800",
        Tone::Progress => {
            "rounded-full px-2 py-0.5 text-xs font-medium bg-indigo-100 text-indigo-800"
        }
        Tone::Warning => "rounded-full px-2 py-0.5 text-xs font-medium bg-amber-100 text-amber-800",
        Tone::Success => {
            "rounded-full px-2 py-0.5 text-xs font-medium bg-emerald-100 text-emerald-800"
        }
        Tone::Danger => "rounded-full px-2 py-0.5 text-xs font-medium bg-red-100 text-red-800",
    }
}
