//! One way for a page to keep its figures fresh: a tick that moves on a fixed interval while the page asks for it
//! and the tab is visible. Resources that read the tick load again on each one.

use leptos::{prelude::*, task::spawn_local};

/// A page's refresh tick.
#[derive(Clone, Copy)]
pub struct Poll(RwSignal<u32>);

impl Poll {
    /// Read it in a resource's source so that the resource loads again on every tick.
    pub fn track(self) -> u32 {
        self.0.get()
    }

    /// Loads everything that tracks the tick again now, e.g. after an action changed what is shown.
    pub fn refresh(self) {
        self.0.update(|n| *n += 1);
    }
}

/// A refresh tick for the page. Create it first, read it in the resources' sources, then start it with
/// [`Poll::every`] (which may look at those resources).
pub fn use_poll() -> Poll {
    Poll(RwSignal::new(0))
}

impl Poll {
    /// Ticks every `interval_ms` while `active()` holds and the tab is visible. `active` is read without tracking
    /// on each interval, so it may look at a resource's latest value ("is anything still sending?"). The loop runs
    /// in the browser only (effects do not run on the server) and ends when the page is left.
    pub fn every(self, interval_ms: u32, active: impl Fn() -> bool + 'static) {
        let tick = self.0;
        let mut active = Some(active);
        Effect::new(move |_| {
            let Some(active) = active.take() else {
                return;
            };
            spawn_local(async move {
                loop {
                    gloo_timers::future::TimeoutFuture::new(interval_ms).await;
                    if tick.is_disposed() {
                        break;
                    }
                    if page_visible() && untrack(&active) {
                        tick.update(|n| *n += 1);
                    }
                }
            });
        });
    }
}

fn page_visible() -> bool {
    document().visibility_state() == web_sys::VisibilityState::Visible
}
