//! `/campaigns/new` and `/campaigns/:id/edit`: the campaign's segment, message, schedule and rate, with a preview.

use crate::shared::money::thousands;
use leptos::{prelude::*, task::spawn_local};
use leptos_router::{
    hooks::{use_navigate, use_params_map},
    NavigateOptions,
};

use crate::{
    campaigns::{
        api::{get_campaign, reachable_audience, save_campaign},
        model::{CampaignDraft, Channel, DEFAULT_ATTRIBUTION_DAYS, DEFAULT_RATE_PER_SECOND},
        template::{RecipientFields, Template, Token},
    },
    segments::api::{list_segments, segment_audience},
    shared::{
        error::AppError,
        ui::{
            error_notice::ErrorNotice,
            form::{
                field_error, form_error, FieldMessage, FormAlert, INPUT_CLASS, PRIMARY_BUTTON_CLASS,
            },
            page_header::PageHeader,
        },
    },
};

/// When the campaign goes out.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Timing {
    Draft,
    Now,
    Later,
}

/// `YYYY-MM-DDTHH:MM` in the reader's time zone (a `datetime-local` value) as milliseconds since the epoch.
fn local_input_to_ms(value: &str) -> Option<i64> {
    #[cfg(feature = "hydrate")]
    {
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(value));
        let ms = date.get_time();
        (!ms.is_nan()).then_some(ms as i64)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = value;
        None
    }
}

/// The other way round, for editing a scheduled campaign.
fn ms_to_local_input(ms: i64) -> String {
    #[cfg(feature = "hydrate")]
    {
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}",
            date.get_full_year(),
            date.get_month() + 1,
            date.get_date(),
            date.get_hours(),
            date.get_minutes()
        )
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = ms;
        String::new()
    }
}

#[component]
pub fn NewCampaignPage() -> impl IntoView {
    let draft = CampaignDraft {
        name: String::new(),
        segment_id: String::new(),
        channel: Channel::Email,
        subject: "News for you, {{first_name|there}}".to_owned(),
        message: String::new(),
        scheduled_for_ms: None,
        rate_per_second: DEFAULT_RATE_PER_SECOND,
        attribution_days: DEFAULT_ATTRIBUTION_DAYS,
        frequency_cap_hours: None,
    };
    view! {
        <PageHeader title="New campaign" subtitle="Choose the audience, write the message, and say when it goes out."/>
        <CampaignEditor id=None draft/>
    }
}

#[component]
pub fn EditCampaignPage() -> impl IntoView {
    let params = use_params_map();
    let campaign = Resource::new(
        move || params.with(|p| p.get("id").unwrap_or_default()),
        get_campaign,
    );
    view! {
        <PageHeader title="Edit campaign"/>
        <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Loading the campaign…"</p> }>
            {move || Suspend::new(async move {
                match campaign.await {
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    Ok(campaign) if !campaign.status.editable() => view! {
                        <ErrorNotice error=AppError::Conflict(format!("A {} campaign cannot be changed.", campaign.status.key()))/>
                    }.into_any(),
                    Ok(campaign) => view! { <CampaignEditor id=Some(campaign.id) draft=campaign.draft/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn CampaignEditor(id: Option<String>, draft: CampaignDraft) -> impl IntoView {
    let name = RwSignal::new(draft.name);
    let segment_id = RwSignal::new(draft.segment_id);
    let channel = RwSignal::new(draft.channel);
    let subject = RwSignal::new(draft.subject);
    let message = RwSignal::new(draft.message);
    let rate = RwSignal::new(draft.rate_per_second.to_string());
    let attribution = RwSignal::new(draft.attribution_days.to_string());
    let frequency_cap = RwSignal::new(
        draft
            .frequency_cap_hours
            .map(|hours| hours.to_string())
            .unwrap_or_default(),
    );
    let timing = RwSignal::new(if draft.scheduled_for_ms.is_some() {
        Timing::Later
    } else {
        Timing::Draft
    });
    let scheduled_local = RwSignal::new(String::new());
    // The local form of a stored time can only be worked out in the browser.
    Effect::new(move |_| {
        if let Some(ms) = draft.scheduled_for_ms {
            scheduled_local.set(ms_to_local_input(ms));
        }
    });
    let failure = RwSignal::new(None::<Result<(), AppError>>);
    let saving = RwSignal::new(false);
    let segments = Resource::new(|| (), |()| list_segments());
    let audience = Resource::new(
        move || segment_id.get(),
        |id| async move {
            if id.is_empty() {
                None
            } else {
                Some(segment_audience(id).await)
            }
        },
    );
    // Of the segment, those the channel reaches: consented, and with a phone number for SMS.
    let reachable = Resource::new(
        move || (segment_id.get(), channel.get()),
        |(id, channel)| async move {
            if id.is_empty() {
                None
            } else {
                Some(reachable_audience(id, channel).await)
            }
        },
    );
    // A template is checked as it is typed; an empty one is left to the save, which names it.
    let template_problem = move |text: RwSignal<String>| {
        Signal::derive(move || {
            text.with(|t| {
                if t.trim().is_empty() {
                    None
                } else {
                    Template::parse(t).err()
                }
            })
        })
    };
    let message_problem = template_problem(message);
    let subject_problem = template_problem(subject);
    let problem_for = move |field: &'static str| field_error(failure, field);
    let other_problem = form_error(failure);
    let navigate = use_navigate();

    let save = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let scheduled_for_ms = match timing.get_untracked() {
            Timing::Later => match local_input_to_ms(&scheduled_local.get_untracked()) {
                Some(ms) => Some(ms),
                None => {
                    failure.set(Some(Err(AppError::invalid(
                        "scheduled_for",
                        "Choose the date and time to send at.",
                    ))));
                    return;
                }
            },
            Timing::Draft | Timing::Now => None,
        };
        let Ok(rate_per_second) = rate.get_untracked().trim().parse::<u32>() else {
            failure.set(Some(Err(AppError::invalid(
                "rate_per_second",
                "Enter a whole number of messages per second.",
            ))));
            return;
        };
        let Ok(attribution_days) = attribution.get_untracked().trim().parse::<u32>() else {
            failure.set(Some(Err(AppError::invalid(
                "attribution_days",
                "Enter a whole number of days.",
            ))));
            return;
        };
        let cap = frequency_cap.get_untracked();
        let frequency_cap_hours = match cap.trim() {
            "" => None,
            hours => match hours.parse::<u32>() {
                Ok(hours) => Some(hours),
                Err(_) => {
                    failure.set(Some(Err(AppError::invalid(
                        "frequency_cap_hours",
                        "Enter a whole number of hours, or leave it empty.",
                    ))));
                    return;
                }
            },
        };
        let draft = CampaignDraft {
            name: name.get_untracked(),
            segment_id: segment_id.get_untracked(),
            channel: channel.get_untracked(),
            subject: subject.get_untracked(),
            message: message.get_untracked(),
            scheduled_for_ms,
            rate_per_second,
            attribution_days,
            frequency_cap_hours,
        };
        let send_now = timing.get_untracked() == Timing::Now;
        let (id, navigate) = (id.clone(), navigate.clone());
        saving.set(true);
        failure.set(None);
        spawn_local(async move {
            match save_campaign(id, draft, send_now).await {
                Ok(saved) => navigate(&format!("/campaigns/{saved}"), NavigateOptions::default()),
                Err(error) => {
                    failure.set(Some(Err(error)));
                    saving.set(false);
                }
            }
        });
    };

    let tokens = Token::ALL
        .iter()
        .map(|t| format!("{{{{{}}}}}", t.key()))
        .collect::<Vec<_>>()
        .join(" ");
    view! {
        <form class="grid gap-6 lg:grid-cols-[1fr_22rem]" on:submit=save novalidate>
            <div class="space-y-5">
                <section class="rounded-lg border border-slate-200 bg-white p-5 space-y-4" aria-labelledby="step-audience">
                    <h2 id="step-audience" class="font-semibold">"1. Name and audience"</h2>
                    <label class="block">
                        <span class="text-sm font-medium text-slate-700">"Campaign name"</span>
                        <input class=INPUT_CLASS aria-label="Campaign name" aria-describedby="name-error" prop:value=move || name.get() on:input=move |e| name.set(event_target_value(&e))/>
                        <FieldMessage id="name-error".to_owned() message=problem_for("name")/>
                    </label>
                    <label class="block">
                        <span class="text-sm font-medium text-slate-700">"Segment"</span>
                        <select class=INPUT_CLASS aria-label="Segment" aria-describedby="segment-error" prop:value=move || segment_id.get() on:change=move |e| segment_id.set(event_target_value(&e))>
                            <option value="">"Choose a segment"</option>
                            <Suspense>
                                {move || Suspend::new(async move {
                                    let chosen = segment_id.get_untracked();
                                    segments.await.unwrap_or_default().into_iter().map(|segment| {
                                        let selected = segment.id == chosen;
                                        view! { <option value=segment.id selected=selected>{segment.name}</option> }
                                    }).collect_view()
                                })}
                            </Suspense>
                        </select>
                        <FieldMessage id="segment-error".to_owned() message=problem_for("segment_id")/>
                    </label>
                    <p class="text-sm text-slate-600" data-segment-live-size>
                        <Transition>
                            {move || Suspend::new(async move {
                                match audience.await {
                                    None => "No segment chosen yet.".to_owned(),
                                    Some(Ok(preview)) => format!("{} customers in this segment now.", thousands(preview.count)),
                                    Some(Err(error)) => error.to_string(),
                                }
                            })}
                        </Transition>
                    </p>
                    <p class="text-sm text-slate-600" data-reachable>
                        <Transition>
                            {move || Suspend::new(async move {
                                let by = if channel.get_untracked() == Channel::Sms { "SMS (consented, with a phone number)" } else { "email (consented)" };
                                match reachable.await {
                                    None => String::new(),
                                    Some(Ok(reachable)) => format!("{} of them can be reached by {by}.", thousands(reachable)),
                                    Some(Err(error)) => error.to_string(),
                                }
                            })}
                        </Transition>
                    </p>
                </section>
                <section class="rounded-lg border border-slate-200 bg-white p-5 space-y-4" aria-labelledby="step-message">
                    <h2 id="step-message" class="font-semibold">"2. Message"</h2>
                    <fieldset class="flex gap-4 text-sm">
                        <legend class="sr-only">"Channel"</legend>
                        <label class="flex items-center gap-1"><input type="radio" name="channel" prop:checked=move || channel.get() == Channel::Email on:change=move |_| channel.set(Channel::Email)/>"Email"</label>
                        <label class="flex items-center gap-1"><input type="radio" name="channel" prop:checked=move || channel.get() == Channel::Sms on:change=move |_| channel.set(Channel::Sms)/>"SMS"</label>
                    </fieldset>
                    {move || (channel.get() == Channel::Email).then(|| view! {
                        <label class="block">
                            <span class="text-sm font-medium text-slate-700">"Subject"</span>
                            <input class=INPUT_CLASS aria-label="Subject" aria-describedby="subject-error" prop:value=move || subject.get() on:input=move |e| subject.set(event_target_value(&e))/>
                            <FieldMessage id="subject-error".to_owned() message=Signal::derive(move || problem_for("subject").get().or_else(|| subject_problem.get()))/>
                        </label>
                    })}
                    <label class="block">
                        <span class="text-sm font-medium text-slate-700">"Message"</span>
                        <textarea rows="5" class=INPUT_CLASS aria-label="Message" aria-describedby="message-error" prop:value=move || message.get() on:input=move |e| message.set(event_target_value(&e))></textarea>
                        <FieldMessage id="message-error".to_owned() message=Signal::derive(move || problem_for("message").get().or_else(|| message_problem.get()))/>
                    </label>
                    <p class="text-xs text-slate-500">
                        {format!("Tokens: {tokens}. Add a fallback for customers without the value: {{{{first_name|there}}}}.")}
                    </p>
                </section>
                <section class="rounded-lg border border-slate-200 bg-white p-5 space-y-3 text-sm" aria-labelledby="step-schedule">
                    <h2 id="step-schedule" class="font-semibold">"3. Schedule"</h2>
                    <label class="flex items-center gap-2"><input type="radio" name="timing" prop:checked=move || timing.get() == Timing::Draft on:change=move |_| timing.set(Timing::Draft)/>"Keep as a draft"</label>
                    <label class="flex items-center gap-2"><input type="radio" name="timing" prop:checked=move || timing.get() == Timing::Now on:change=move |_| timing.set(Timing::Now)/>"Send now"</label>
                    <label class="flex items-center gap-2"><input type="radio" name="timing" prop:checked=move || timing.get() == Timing::Later on:change=move |_| timing.set(Timing::Later)/>"Send at"</label>
                    <input type="datetime-local" aria-label="Send at (your time zone)" class="rounded-md border border-slate-300 px-2 py-1" prop:value=move || scheduled_local.get() on:input=move |e| { scheduled_local.set(event_target_value(&e)); timing.set(Timing::Later); }/>
                    <FieldMessage id="schedule-error".to_owned() message=problem_for("scheduled_for")/>
                    <label class="block max-w-xs">
                        <span class="font-medium text-slate-700">"Send rate (messages per second)"</span>
                        <input type="number" min="1" class=INPUT_CLASS aria-describedby="rate-error" prop:value=move || rate.get() on:input=move |e| rate.set(event_target_value(&e))/>
                        <FieldMessage id="rate-error".to_owned() message=problem_for("rate_per_second")/>
                    </label>
                    <label class="block max-w-xs">
                        <span class="font-medium text-slate-700">"Count revenue for (days after delivery)"</span>
                        <input type="number" min="1" class=INPUT_CLASS aria-describedby="attribution-error" prop:value=move || attribution.get() on:input=move |e| attribution.set(event_target_value(&e))/>
                        <FieldMessage id="attribution-error".to_owned() message=problem_for("attribution_days")/>
                    </label>
                    <label class="block max-w-xs">
                        <span class="font-medium text-slate-700">"Skip customers messaged on this channel in the last (hours)"</span>
                        <input type="number" min="1" placeholder="no limit" class=INPUT_CLASS aria-label="Frequency cap (hours)" aria-describedby="frequency-cap-error" prop:value=move || frequency_cap.get() on:input=move |e| frequency_cap.set(event_target_value(&e))/>
                        <FieldMessage id="frequency-cap-error".to_owned() message=problem_for("frequency_cap_hours")/>
                    </label>
                </section>
                <FormAlert message=other_problem/>
                <button type="submit" class=PRIMARY_BUTTON_CLASS disabled=move || saving.get()>
                    {move || match (saving.get(), timing.get()) {
                        (true, _) => "Saving…",
                        (false, Timing::Now) => "Save and send now",
                        (false, Timing::Later) => "Save and schedule",
                        (false, Timing::Draft) => "Save draft",
                    }}
                </button>
            </div>
            <aside class="rounded-lg border border-slate-200 bg-white p-4 lg:sticky lg:top-4 lg:self-start" aria-labelledby="preview-heading">
                <h2 id="preview-heading" class="text-sm font-semibold">"Preview for customers of the segment"</h2>
                <Transition>
                    {move || Suspend::new(async move {
                        let sample = match audience.await {
                            Some(Ok(preview)) => preview.sample,
                            _ => Vec::new(),
                        };
                        if sample.is_empty() {
                            return view! { <p class="mt-2 text-sm text-slate-500">"Choose a segment with customers to see the message as they will."</p> }.into_any();
                        }
                        view! {
                            <ul class="mt-2 space-y-3" data-message-previews>
                                {sample.into_iter().map(|customer| {
                                    let fields = RecipientFields::from(&customer);
                                    let fields_for_subject = fields.clone();
                                    view! {
                                        <li class="rounded-md bg-slate-50 p-3 text-sm">
                                            <p class="text-xs text-slate-500">{format!("To {}", customer.email)}</p>
                                            {move || (channel.get() == Channel::Email).then(|| {
                                                let rendered = Template::parse(&subject.get()).map(|t| t.render(&fields_for_subject)).unwrap_or_default();
                                                view! { <p class="font-medium">{rendered}</p> }
                                            })}
                                            <p class="whitespace-pre-wrap" data-message-preview>
                                                {move || Template::parse(&message.get()).map(|t| t.render(&fields)).unwrap_or_default()}
                                            </p>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    })}
                </Transition>
            </aside>
        </form>
    }
}
