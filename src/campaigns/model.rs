//! Campaigns: a message sent to a segment's audience, once, at a chosen time, at a limited rate. The lifecycle and
//! its transitions are here ([`CampaignStatus::after`]), the message templates in [`template`].

use serde::{Deserialize, Serialize};

use super::template::Template;
use crate::shared::error::AppError;
use crate::shared::ui::status_badge::Tone;

/// Fastest send rate a campaign may ask for, in messages per second.
pub const MAX_RATE_PER_SECOND: u32 = 10_000;
pub const DEFAULT_RATE_PER_SECOND: u32 = 50;
const MAX_NAME_LENGTH: usize = 100;
const MAX_SUBJECT_LENGTH: usize = 200;
/// Days after delivery within which a recipient's orders count as the campaign's revenue.
pub const DEFAULT_ATTRIBUTION_DAYS: u32 = 7;
pub const MAX_ATTRIBUTION_DAYS: u32 = 90;
/// The longest frequency cap: 30 days.
pub const MAX_FREQUENCY_CAP_HOURS: u32 = 720;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    Draft,
    Scheduled,
    Sending,
    Paused,
    Completed,
    Cancelled,
    Failed,
}

/// Where one recipient's message stands. Every recipient is frozen as `Pending` (or settled at once as `Suppressed`
/// or `Failed`), and stays so while a worker sends to them (its claim is kept apart, as a document of its own); the
/// vendor's answer makes them `Sent` or `Failed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    Pending,
    Sent,
    Failed,
    /// The campaign was cancelled before this recipient's turn.
    Cancelled,
    /// Never sent: no consent to the channel (unsubscribed, bounced, complained), or the frequency cap.
    Suppressed,
}

impl MessageStatus {
    pub const ALL: [MessageStatus; 5] = [
        MessageStatus::Pending,
        MessageStatus::Sent,
        MessageStatus::Failed,
        MessageStatus::Cancelled,
        MessageStatus::Suppressed,
    ];

    pub fn key(self) -> &'static str {
        match self {
            MessageStatus::Pending => "pending",
            MessageStatus::Sent => "sent",
            MessageStatus::Failed => "failed",
            MessageStatus::Cancelled => "cancelled",
            MessageStatus::Suppressed => "suppressed",
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.key() == key)
    }
}

/// Which recipients a campaign's log shows: those in one status, or those the message was delivered to, opened by
/// or clicked by (events, not statuses: a recipient who was sent the message may have any of them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum LogFilter {
    Status(MessageStatus),
    Delivered,
    Opened,
    Clicked,
}

impl LogFilter {
    /// What the log offers to show, in order, with the words it shows them by.
    pub const CHOICES: [(LogFilter, &'static str); 7] = [
        (LogFilter::Status(MessageStatus::Pending), "waiting"),
        (LogFilter::Status(MessageStatus::Sent), "sent"),
        (LogFilter::Status(MessageStatus::Failed), "failed"),
        (LogFilter::Status(MessageStatus::Suppressed), "suppressed"),
        (LogFilter::Delivered, "delivered"),
        (LogFilter::Opened, "opened"),
        (LogFilter::Clicked, "clicked"),
    ];

    pub fn key(self) -> &'static str {
        match self {
            LogFilter::Status(status) => status.key(),
            LogFilter::Delivered => "delivered",
            LogFilter::Opened => "opened",
            LogFilter::Clicked => "clicked",
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        match key {
            "delivered" => Some(LogFilter::Delivered),
            "opened" => Some(LogFilter::Opened),
            "clicked" => Some(LogFilter::Clicked),
            status => MessageStatus::parse(status).map(LogFilter::Status),
        }
    }
}

impl From<LogFilter> for String {
    fn from(filter: LogFilter) -> Self {
        filter.key().to_owned()
    }
}

impl TryFrom<String> for LogFilter {
    type Error = String;

    fn try_from(key: String) -> Result<Self, Self::Error> {
        LogFilter::parse(&key).ok_or_else(|| format!("There is no status {key:?}."))
    }
}

/// What can happen to a campaign; [`CampaignStatus::after`] says where each leads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignAction {
    /// Set to go at its time (now, for "send now").
    Schedule,
    /// Back to draft, e.g. to change it without it going out.
    Unschedule,
    /// Taken by the scheduler at its time: the audience is frozen and sending starts.
    Launch,
    Pause,
    Resume,
    Cancel,
    /// Every recipient has a final outcome.
    Complete,
    Fail,
}

impl CampaignStatus {
    /// Whether the campaign is about to change without anyone touching it.
    pub fn in_motion(self) -> bool {
        matches!(self, CampaignStatus::Scheduled | CampaignStatus::Sending)
    }

    /// How its badge reads.
    pub fn tone(self) -> Tone {
        match self {
            CampaignStatus::Draft => Tone::Neutral,
            CampaignStatus::Scheduled => Tone::Info,
            CampaignStatus::Sending => Tone::Progress,
            CampaignStatus::Paused => Tone::Warning,
            CampaignStatus::Completed => Tone::Success,
            CampaignStatus::Cancelled | CampaignStatus::Failed => Tone::Danger,
        }
    }

    pub const ALL: [CampaignStatus; 7] = [
        CampaignStatus::Draft,
        CampaignStatus::Scheduled,
        CampaignStatus::Sending,
        CampaignStatus::Paused,
        CampaignStatus::Completed,
        CampaignStatus::Cancelled,
        CampaignStatus::Failed,
    ];

    pub fn key(self) -> &'static str {
        match self {
            CampaignStatus::Draft => "draft",
            CampaignStatus::Scheduled => "scheduled",
            CampaignStatus::Sending => "sending",
            CampaignStatus::Paused => "paused",
            CampaignStatus::Completed => "completed",
            CampaignStatus::Cancelled => "cancelled",
            CampaignStatus::Failed => "failed",
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.key() == key)
    }

    /// The status an action leads to from this one, or why it cannot be taken now.
    pub fn after(self, action: CampaignAction) -> Result<CampaignStatus, String> {
        use CampaignAction as A;
        use CampaignStatus as S;
        match (self, action) {
            (S::Draft, A::Schedule) => Ok(S::Scheduled),
            (S::Scheduled, A::Schedule) => Ok(S::Scheduled),
            (S::Scheduled, A::Unschedule) => Ok(S::Draft),
            (S::Scheduled, A::Launch) => Ok(S::Sending),
            (S::Sending, A::Pause) => Ok(S::Paused),
            (S::Paused, A::Resume) => Ok(S::Sending),
            (S::Sending, A::Complete) => Ok(S::Completed),
            (S::Scheduled | S::Sending | S::Paused, A::Cancel) => Ok(S::Cancelled),
            (S::Scheduled | S::Sending | S::Paused, A::Fail) => Ok(S::Failed),
            (status, action) => Err(format!(
                "A {} campaign cannot be {}.",
                status.key(),
                action.past_tense()
            )),
        }
    }

    /// Content, audience and schedule can change only before sending starts.
    pub fn editable(self) -> bool {
        matches!(self, CampaignStatus::Draft | CampaignStatus::Scheduled)
    }

    pub fn finished(self) -> bool {
        matches!(
            self,
            CampaignStatus::Completed | CampaignStatus::Cancelled | CampaignStatus::Failed
        )
    }
}

impl CampaignAction {
    fn past_tense(self) -> &'static str {
        match self {
            CampaignAction::Schedule => "scheduled",
            CampaignAction::Unschedule => "unscheduled",
            CampaignAction::Launch => "launched",
            CampaignAction::Pause => "paused",
            CampaignAction::Resume => "resumed",
            CampaignAction::Cancel => "cancelled",
            CampaignAction::Complete => "completed",
            CampaignAction::Fail => "failed",
        }
    }

    /// Whether a person (or an API client) may ask for this action; launching, completing and failing belong to
    /// the scheduler and the delivery workers, which keep `sent + failed = audience` true.
    pub fn is_user_action(self) -> bool {
        matches!(
            self,
            CampaignAction::Schedule
                | CampaignAction::Unschedule
                | CampaignAction::Pause
                | CampaignAction::Resume
                | CampaignAction::Cancel
        )
    }

    /// The action as a verb, which is also how forms and the API name it (its serde name).
    pub fn verb(self) -> &'static str {
        match self {
            CampaignAction::Schedule => "schedule",
            CampaignAction::Unschedule => "unschedule",
            CampaignAction::Launch => "launch",
            CampaignAction::Pause => "pause",
            CampaignAction::Resume => "resume",
            CampaignAction::Cancel => "cancel",
            CampaignAction::Complete => "complete",
            CampaignAction::Fail => "fail",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    #[default]
    Email,
    Sms,
}

impl Channel {
    pub fn key(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }
}

/// What a person writes: the campaign's content, audience and sending settings.
/// The message of a campaign created without one (the original app's clients never send one): a greeting the user
/// edits before sending.
pub const DEFAULT_MESSAGE: &str =
    "Hi {{first_name|there}}, we have something new we think you will like. Reply to this email to hear more.";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignDraft {
    pub name: String,
    pub segment_id: String,
    #[serde(default)]
    pub channel: Channel,
    /// The email subject; a template too. Not used for SMS.
    #[serde(default)]
    pub subject: String,
    pub message: String,
    /// Milliseconds since the epoch (UTC); none means "not scheduled yet".
    #[serde(default)]
    pub scheduled_for_ms: Option<i64>,
    #[serde(default = "default_rate")]
    pub rate_per_second: u32,
    /// Orders a recipient places within this many days after delivery count as the campaign's revenue.
    #[serde(default = "default_attribution_days")]
    pub attribution_days: u32,
    /// When set, customers sent any message on the campaign's channel in this many hours before its launch are
    /// skipped (recorded as suppressed by the frequency cap).
    #[serde(default)]
    pub frequency_cap_hours: Option<u32>,
}

fn default_rate() -> u32 {
    DEFAULT_RATE_PER_SECOND
}

fn default_attribution_days() -> u32 {
    DEFAULT_ATTRIBUTION_DAYS
}

impl CampaignDraft {
    /// The draft with its texts trimmed and checked, or the first field at fault.
    /// Whether saving the draft at `now_ms` schedules it. Only a time still ahead does: a date already past (or
    /// today's date given without a time, which reads as midnight) keeps the campaign a draft, so that nothing goes
    /// out at once without someone saying so.
    pub fn schedules(&self, now_ms: i64) -> bool {
        self.scheduled_for_ms.is_some_and(|at| at > now_ms)
    }

    /// Why a draft with a date was not scheduled, for the answer to the client that sent it.
    pub fn not_scheduled_because(&self, now_ms: i64) -> Option<&'static str> {
        (self.scheduled_for_ms.is_some() && !self.schedules(now_ms)).then_some(
            "scheduledFor is not in the future, so the campaign stays a draft: send it now or give a later time.",
        )
    }

    pub fn cleaned(self) -> Result<Self, AppError> {
        let name = self.name.trim().to_owned();
        if name.is_empty() {
            return Err(AppError::invalid("name", "Give the campaign a name."));
        }
        if name.chars().count() > MAX_NAME_LENGTH {
            return Err(AppError::invalid(
                "name",
                format!("A name has at most {MAX_NAME_LENGTH} characters."),
            ));
        }
        if self.segment_id.trim().is_empty() {
            return Err(AppError::invalid(
                "segment_id",
                "Choose the segment to send to.",
            ));
        }
        let subject = self.subject.trim().to_owned();
        if self.channel == Channel::Email {
            if subject.is_empty() {
                return Err(AppError::invalid("subject", "An email needs a subject."));
            }
            if subject.chars().count() > MAX_SUBJECT_LENGTH {
                return Err(AppError::invalid(
                    "subject",
                    format!("A subject has at most {MAX_SUBJECT_LENGTH} characters."),
                ));
            }
            Template::parse(&subject).map_err(|message| AppError::invalid("subject", message))?;
        }
        Template::parse(&self.message).map_err(|message| AppError::invalid("message", message))?;
        if !(1..=MAX_RATE_PER_SECOND).contains(&self.rate_per_second) {
            return Err(AppError::invalid(
                "rate_per_second",
                format!("Send from 1 to {MAX_RATE_PER_SECOND} messages per second."),
            ));
        }
        if !(1..=MAX_ATTRIBUTION_DAYS).contains(&self.attribution_days) {
            return Err(AppError::invalid(
                "attribution_days",
                format!("Count revenue over 1 to {MAX_ATTRIBUTION_DAYS} days after delivery."),
            ));
        }
        if self
            .frequency_cap_hours
            .is_some_and(|hours| !(1..=MAX_FREQUENCY_CAP_HOURS).contains(&hours))
        {
            return Err(AppError::invalid(
                "frequency_cap_hours",
                format!("Skip customers messaged in the last 1 to {MAX_FREQUENCY_CAP_HOURS} hours, or leave it empty."),
            ));
        }
        Ok(Self {
            name,
            segment_id: self.segment_id.trim().to_owned(),
            subject,
            ..self
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_campaign_action_is_named_in_forms_by_its_verb_as_serde_names_it() {
        for action in [
            CampaignAction::Schedule,
            CampaignAction::Unschedule,
            CampaignAction::Launch,
            CampaignAction::Pause,
            CampaignAction::Resume,
            CampaignAction::Cancel,
            CampaignAction::Complete,
            CampaignAction::Fail,
        ] {
            assert_eq!(serde_json::to_value(action).unwrap(), action.verb());
        }
    }

    #[test]
    fn log_filters_read_back_from_their_keys_and_an_unknown_key_is_refused() {
        for status in MessageStatus::ALL {
            assert_eq!(
                LogFilter::parse(status.key()),
                Some(LogFilter::Status(status))
            );
        }
        for (filter, _) in LogFilter::CHOICES {
            assert_eq!(LogFilter::parse(filter.key()), Some(filter));
        }
        assert_eq!(
            serde_json::from_str::<LogFilter>("\"opened\"").unwrap(),
            LogFilter::Opened
        );
        assert_eq!(
            LogFilter::try_from("bounced".to_owned()).unwrap_err(),
            "There is no status \"bounced\"."
        );
    }

    fn dated(scheduled_for_ms: Option<i64>) -> CampaignDraft {
        CampaignDraft {
            name: "Launch".to_owned(),
            segment_id: "s".to_owned(),
            channel: Channel::Email,
            subject: "Hello".to_owned(),
            message: DEFAULT_MESSAGE.to_owned(),
            scheduled_for_ms,
            frequency_cap_hours: None,
            rate_per_second: DEFAULT_RATE_PER_SECOND,
            attribution_days: DEFAULT_ATTRIBUTION_DAYS,
        }
    }

    #[test]
    fn only_a_time_still_ahead_schedules_a_campaign() {
        let now = 1_790_000_000_000;
        assert!(dated(Some(now + 60_000)).schedules(now));
        assert_eq!(dated(Some(now + 60_000)).not_scheduled_because(now), None);
        for past in [Some(now), Some(now - 1), Some(now - 86_400_000)] {
            assert!(!dated(past).schedules(now));
            assert!(dated(past).not_scheduled_because(now).is_some());
        }
        assert!(!dated(None).schedules(now));
        assert_eq!(
            dated(None).not_scheduled_because(now),
            None,
            "no date, nothing to explain"
        );
    }

    #[test]
    fn the_default_message_is_a_valid_template() {
        assert!(dated(None).cleaned().is_ok());
        assert!(DEFAULT_MESSAGE.contains("{{first_name|there}}"));
    }

    #[test]
    fn only_schedule_unschedule_pause_resume_and_cancel_are_for_people() {
        use CampaignAction as A;
        let people: Vec<A> = [
            A::Schedule,
            A::Unschedule,
            A::Launch,
            A::Pause,
            A::Resume,
            A::Cancel,
            A::Complete,
            A::Fail,
        ]
        .into_iter()
        .filter(|action| action.is_user_action())
        .collect();
        assert_eq!(
            people,
            [A::Schedule, A::Unschedule, A::Pause, A::Resume, A::Cancel]
        );
    }

    #[test]
    fn the_lifecycle_allows_only_its_transitions() {
        use CampaignAction as A;
        use CampaignStatus as S;
        let path = [
            (A::Schedule, S::Scheduled),
            (A::Launch, S::Sending),
            (A::Pause, S::Paused),
            (A::Resume, S::Sending),
            (A::Complete, S::Completed),
        ];
        let mut status = S::Draft;
        for (action, expected) in path {
            status = status.after(action).unwrap();
            assert_eq!(status, expected);
        }
        assert_eq!(
            S::Completed.after(A::Resume).unwrap_err(),
            "A completed campaign cannot be resumed."
        );
        assert!(S::Draft.after(A::Launch).is_err(), "a draft is never sent");
        assert!(S::Paused.after(A::Complete).is_err());
        assert_eq!(S::Paused.after(A::Cancel), Ok(S::Cancelled));
        assert!(S::Cancelled.after(A::Schedule).is_err());
        assert!(S::Scheduled.editable() && !S::Sending.editable() && S::Failed.finished());
        for status in S::ALL {
            assert_eq!(S::parse(status.key()), Some(status));
        }
    }

    #[test]
    fn a_message_status_is_stored_and_sent_under_its_key() {
        for status in MessageStatus::ALL {
            assert_eq!(MessageStatus::parse(status.key()), Some(status));
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::Value::from(status.key())
            );
        }
        assert_eq!(MessageStatus::parse("delivered"), None);
    }

    fn draft() -> CampaignDraft {
        CampaignDraft {
            name: " Winter sale ".into(),
            segment_id: "abc".into(),
            channel: Channel::Email,
            subject: "Hi {{first_name|there}}".into(),
            message: "Our sale starts now, {{name}}.".into(),
            scheduled_for_ms: None,
            rate_per_second: 50,
            attribution_days: 7,
            frequency_cap_hours: None,
        }
    }

    #[test]
    fn a_draft_names_its_first_bad_field() {
        assert_eq!(draft().cleaned().unwrap().name, "Winter sale");
        let field = |draft: CampaignDraft| match draft.cleaned().unwrap_err() {
            AppError::Invalid { field, .. } => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(CampaignDraft {
                name: "".into(),
                ..draft()
            }),
            "name"
        );
        assert_eq!(
            field(CampaignDraft {
                segment_id: " ".into(),
                ..draft()
            }),
            "segment_id"
        );
        assert_eq!(
            field(CampaignDraft {
                subject: "".into(),
                ..draft()
            }),
            "subject"
        );
        assert_eq!(
            field(CampaignDraft {
                message: "Hi {{nickname}}".into(),
                ..draft()
            }),
            "message"
        );
        assert_eq!(
            field(CampaignDraft {
                attribution_days: 0,
                ..draft()
            }),
            "attribution_days"
        );
        assert_eq!(
            field(CampaignDraft {
                rate_per_second: 0,
                ..draft()
            }),
            "rate_per_second"
        );
        assert_eq!(
            field(CampaignDraft {
                frequency_cap_hours: Some(0),
                ..draft()
            }),
            "frequency_cap_hours"
        );
        assert!(CampaignDraft {
            frequency_cap_hours: Some(24),
            ..draft()
        }
        .cleaned()
        .is_ok());
        assert!(CampaignDraft {
            channel: Channel::Sms,
            subject: "".into(),
            ..draft()
        }
        .cleaned()
        .is_ok());
    }
}

/// A campaign in the list: what it is, where it stands, and how far sending has got.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignSummary {
    pub id: String,
    pub name: String,
    pub segment_name: String,
    pub channel: Channel,
    pub status: CampaignStatus,
    pub scheduled_for_ms: Option<i64>,
    pub audience: Option<u64>,
    /// Recipients with a final outcome (sent or failed).
    pub processed: u64,
}

/// One step of a campaign's life: the status it entered, when, by whom, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    pub status: CampaignStatus,
    pub at: String,
    pub by: String,
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignDetail {
    pub id: String,
    pub draft: CampaignDraft,
    pub segment_name: String,
    pub status: CampaignStatus,
    pub status_reason: Option<String>,
    pub history: Vec<StatusChange>,
    pub created_by: String,
}

/// Delivery figures of a campaign; `sent + failed + suppressed = audience` once it has completed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignStats {
    pub status: String,
    pub audience: u64,
    pub pending: u64,
    pub sent: u64,
    pub delivered: u64,
    pub failed: u64,
    pub opened: u64,
    pub clicked: u64,
    /// Not sent for want of the customer's consent to the channel.
    pub suppressed: u64,
    pub unsubscribed: u64,
    /// Sent, then reported by the mail provider as a hard bounce.
    pub bounced: u64,
    pub failures_by_reason: Vec<(String, u64)>,
    /// Minute (`YYYY-MM-DDTHH:MM`, UTC) and messages sent in it.
    pub sent_per_minute: Vec<(String, u64)>,
    /// Orders by recipients within `attribution_days` after their message was delivered.
    pub attributed_orders: u64,
    pub attributed_revenue_cents: i64,
    pub attribution_days: u32,
}

/// One recipient's line in the communication log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommunicationRow {
    pub customer_id: String,
    pub name: String,
    pub to: String,
    pub status: MessageStatus,
    pub failure_reason: Option<String>,
    pub attempts: i64,
    pub sent_at: Option<String>,
    pub delivered_at: Option<String>,
    pub opened_at: Option<String>,
    pub clicked_at: Option<String>,
    pub message: String,
}
