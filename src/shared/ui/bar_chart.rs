//! Bar charts drawn as SVG on the server, so they show before the page is interactive, each labelled for screen readers.

use leptos::prelude::*;

#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    /// Shown on hover, e.g. "2026-11-27: 14 orders".
    pub title: String,
}

/// Bars side by side under one label, one per series, e.g. delivered / failed / opened of one campaign.
#[derive(Clone, Debug, PartialEq)]
pub struct BarGroup {
    pub label: String,
    /// One per series, in the order of the chart's series.
    pub values: Vec<f64>,
    /// Hover text per value.
    pub titles: Vec<String>,
}

/// One series of a grouped chart: its name in the legend and the Tailwind fill of its bars.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Series {
    pub name: &'static str,
    pub fill: &'static str,
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 64.0;
const BOTTOM: f64 = 24.0;
const TOP: f64 = 8.0;
const PLOT_HEIGHT: f64 = HEIGHT - BOTTOM - TOP;
const SINGLE: [Series; 1] = [Series {
    name: "",
    fill: "fill-indigo-500 hover:fill-indigo-700",
}];

/// The frame both charts share: grid lines with the y values, the y-axis title, and a label under every few slots.
fn axes(
    scale_max: f64,
    axis_label: fn(f64) -> String,
    y_title: &'static str,
    labels: Vec<String>,
) -> impl IntoView {
    let slot = (WIDTH - LEFT) / labels.len().max(1) as f64;
    let label_every = (labels.len() / 6).max(1);
    let ticks = [0.0, scale_max / 2.0, scale_max];
    view! {
        <text
            transform=format!("translate(12 {}) rotate(-90)", TOP + PLOT_HEIGHT / 2.0)
            text-anchor="middle"
            font-size="10"
            fill="currentColor"
        >
            {y_title}
        </text>
        {ticks
            .into_iter()
            .map(|tick| {
                let y = TOP + PLOT_HEIGHT - tick / scale_max * PLOT_HEIGHT;
                view! {
                    <line x1=LEFT x2=WIDTH y1=y y2=y stroke="currentColor" stroke-opacity="0.2"/>
                    <text x=LEFT - 6.0 y=y + 4.0 text-anchor="end" font-size="10" fill="currentColor">
                        {axis_label(tick)}
                    </text>
                }
            })
            .collect_view()}
        {labels
            .into_iter()
            .enumerate()
            .filter(move |(i, _)| i % label_every == 0)
            .map(|(i, label)| {
                view! {
                    <text x=LEFT + (i as f64 + 0.5) * slot y=HEIGHT - 6.0 text-anchor="middle" font-size="10" fill="currentColor">
                        {label}
                    </text>
                }
            })
            .collect_view()}
    }
}

fn scale_of(values: impl Iterator<Item = f64>) -> f64 {
    let max = values.fold(0.0_f64, f64::max);
    if max > 0.0 {
        max
    } else {
        1.0
    }
}

fn bars_view(groups: Vec<BarGroup>, series: &'static [Series], scale_max: f64) -> impl IntoView {
    let slot = (WIDTH - LEFT) / groups.len().max(1) as f64;
    let width = slot * 0.7 / series.len().max(1) as f64;
    groups
        .into_iter()
        .enumerate()
        .map(|(i, group)| {
            let start = LEFT + i as f64 * slot + slot * 0.15;
            group
                .values
                .into_iter()
                .zip(group.titles)
                .zip(series)
                .enumerate()
                .map(|(s, ((value, title), series))| {
                    let height = value / scale_max * PLOT_HEIGHT;
                    view! {
                        <rect
                            x=start + s as f64 * width
                            y=TOP + PLOT_HEIGHT - height
                            width=width
                            height=height
                            class=series.fill
                            data-series=series.name
                            data-value=value
                        >
                            <title>{title}</title>
                        </rect>
                    }
                })
                .collect_view()
        })
        .collect_view()
}

/// A bar chart drawn as SVG on the server and in the browser alike: readable without JavaScript, with each
/// bar's value in a native hover title.
#[component]
pub fn BarChart(
    /// What the chart shows, for screen readers.
    caption: String,
    bars: Vec<Bar>,
    /// Formats the y-axis values.
    axis_label: fn(f64) -> String,
    /// What the y axis counts, e.g. "orders".
    #[prop(optional)]
    y_title: &'static str,
) -> impl IntoView {
    let scale_max = scale_of(bars.iter().map(|bar| bar.value));
    let labels = bars.iter().map(|bar| bar.label.clone()).collect();
    let groups = bars
        .into_iter()
        .map(|bar| BarGroup {
            label: bar.label,
            values: vec![bar.value],
            titles: vec![bar.title],
        })
        .collect();
    view! {
        <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=caption class="h-auto w-full text-slate-500">
            {axes(scale_max, axis_label, y_title, labels)}
            {bars_view(groups, &SINGLE, scale_max)}
        </svg>
    }
}

/// Bars of several series side by side per label, with a legend.
#[component]
pub fn GroupedBarChart(
    caption: String,
    series: &'static [Series],
    groups: Vec<BarGroup>,
    axis_label: fn(f64) -> String,
    #[prop(optional)] y_title: &'static str,
) -> impl IntoView {
    let scale_max = scale_of(groups.iter().flat_map(|group| group.values.iter().copied()));
    let labels = groups.iter().map(|group| group.label.clone()).collect();
    view! {
        <ul class="mb-2 flex flex-wrap gap-4 text-xs text-slate-600" aria-label="Legend">
            {series
                .iter()
                .map(|series| view! {
                    <li class="flex items-center gap-1">
                        <svg viewBox="0 0 10 10" class="h-3 w-3" aria-hidden="true"><rect width="10" height="10" class=series.fill/></svg>
                        {series.name}
                    </li>
                })
                .collect_view()}
        </ul>
        <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=caption class="h-auto w-full text-slate-500">
            {axes(scale_max, axis_label, y_title, labels)}
            {bars_view(groups, series, scale_max)}
        </svg>
    }
}
