use leptos::prelude::*;

#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    /// Shown on hover, e.g. "2026-11-27: 14 orders".
    pub title: String,
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 56.0;
const BOTTOM: f64 = 24.0;
const TOP: f64 = 8.0;

/// A bar chart drawn as SVG on the server and in the browser alike: readable without JavaScript, with each
/// bar's value in a native hover title.
#[component]
pub fn BarChart(
    /// What the chart shows, for screen readers.
    caption: String,
    bars: Vec<Bar>,
    /// Formats the y-axis values.
    axis_label: fn(f64) -> String,
) -> impl IntoView {
    let max = bars.iter().map(|bar| bar.value).fold(0.0_f64, f64::max);
    let scale_max = if max > 0.0 { max } else { 1.0 };
    let plot_height = HEIGHT - BOTTOM - TOP;
    let slot = (WIDTH - LEFT) / bars.len().max(1) as f64;
    let label_every = (bars.len() / 6).max(1);
    let ticks = [0.0, scale_max / 2.0, scale_max];

    view! {
        <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=caption class="h-auto w-full text-slate-500">
            {ticks
                .into_iter()
                .map(|tick| {
                    let y = TOP + plot_height - tick / scale_max * plot_height;
                    view! {
                        <line x1=LEFT x2=WIDTH y1=y y2=y stroke="currentColor" stroke-opacity="0.2"/>
                        <text x=LEFT - 6.0 y=y + 4.0 text-anchor="end" font-size="10" fill="currentColor">
                            {axis_label(tick)}
                        </text>
                    }
                })
                .collect_view()}
            {bars
                .into_iter()
                .enumerate()
                .map(|(i, bar)| {
                    let height = bar.value / scale_max * plot_height;
                    let x = LEFT + i as f64 * slot;
                    let label = (i % label_every == 0).then(|| {
                        view! {
                            <text x=x + slot / 2.0 y=HEIGHT - 6.0 text-anchor="middle" font-size="10" fill="currentColor">
                                {bar.label.clone()}
                            </text>
                        }
                    });
                    view! {
                        <rect
                            x=x + slot * 0.15
                            y=TOP + plot_height - height
                            width=slot * 0.7
                            height=height
                            class="fill-indigo-500 hover:fill-indigo-700"
                            data-value=bar.value
                        >
                            <title>{bar.title}</title>
                        </rect>
                        {label}
                    }
                })
                .collect_view()}
        </svg>
    }
}
