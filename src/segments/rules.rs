//! The segment rule model: a tree of groups (all / any, optionally negated) of conditions on a customer's fields.
//! The browser edits and checks it, the server checks it again and compiles it into a database filter; both use
//! [`check_rule`], so a rule the builder accepts is a rule the server accepts.
//!
//! Condition values are kept as the text a person typed (the builder's inputs bind to them directly); checking a
//! condition turns it into a typed [`Criterion`].

use serde::{Deserialize, Deserializer, Serialize};

use crate::{
    campaigns::model::Channel,
    customers::model::Consent,
    orders::model::{cents_from_text, MoneyError},
};

/// Deepest nesting of groups below the top group.
pub const MAX_DEPTH: usize = 4;
/// Most conditions in one rule, all groups together.
pub const MAX_CONDITIONS: usize = 50;
/// Most entries in an "in list" or tags value.
pub const MAX_LIST_ENTRIES: usize = 100;
pub const MAX_TEXT_LENGTH: usize = 200;
/// Longest value of a condition: room for the longest list of the longest texts, and no more, so that a huge value
/// is refused before any work is done on it.
pub const MAX_VALUE_LENGTH: usize = MAX_LIST_ENTRIES * (MAX_TEXT_LENGTH + 2);

fn too_long(value: &str) -> bool {
    value.len() > MAX_VALUE_LENGTH && value.chars().nth(MAX_VALUE_LENGTH).is_some()
}
/// Relative dates reach back at most 100 years.
pub const MAX_DAYS: u32 = 36_500;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Combinator {
    /// Every rule of the group holds (AND).
    All,
    /// At least one rule of the group holds (OR).
    Any,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleGroup {
    pub combinator: Combinator,
    /// The group matches customers for whom it would otherwise not hold (NOT).
    #[serde(default)]
    pub negated: bool,
    #[serde(default)]
    pub rules: Vec<Rule>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Rule {
    Condition(Condition),
    Group(RuleGroup),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    pub field: Field,
    pub operator: Operator,
    /// The value as typed: a number, a date, a number of days, a text, or a comma-separated list.
    #[serde(default, deserialize_with = "value_text")]
    pub value: String,
    /// The upper bound of `between`.
    #[serde(
        default,
        deserialize_with = "value_text",
        skip_serializing_if = "String::is_empty"
    )]
    pub value_to: String,
    /// When an order condition looks; other conditions have none.
    #[serde(default, skip_serializing_if = "Window::is_ever")]
    pub window: Window,
    /// The least quantity a product condition asks for, as typed; empty is any quantity.
    #[serde(
        default,
        deserialize_with = "value_text",
        skip_serializing_if = "String::is_empty"
    )]
    pub min_quantity: String,
}

/// The time window of an order condition, as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    #[serde(default)]
    pub kind: WindowKind,
    /// `last_days`: how many days back from the moment the segment is used.
    #[serde(
        default,
        deserialize_with = "value_text",
        skip_serializing_if = "String::is_empty"
    )]
    pub days: String,
    /// `between`: the first and the last day (or instant), both included.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub from: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub to: String,
}

impl Window {
    pub fn is_ever(&self) -> bool {
        *self == Window::default()
    }

    pub fn last_days(days: u32) -> Self {
        Self {
            kind: WindowKind::LastDays,
            days: days.to_string(),
            ..Self::default()
        }
    }

    /// The window in words, to follow a condition: "in the last 30 days"; empty for ever.
    pub fn summary(&self) -> String {
        match self.kind {
            WindowKind::Ever => String::new(),
            WindowKind::LastDays => format!(" in the last {} days", self.days.trim()),
            WindowKind::Between => {
                format!(" between {} and {}", self.from.trim(), self.to.trim())
            }
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowKind {
    #[default]
    Ever,
    /// The last N days up to the moment the segment is used.
    LastDays,
    /// Between two dates, both included.
    Between,
}

impl WindowKind {
    pub const ALL: [WindowKind; 3] = [WindowKind::Ever, WindowKind::LastDays, WindowKind::Between];

    pub fn key(self) -> &'static str {
        match self {
            WindowKind::Ever => "ever",
            WindowKind::LastDays => "last_days",
            WindowKind::Between => "between",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.key() == key)
    }

    pub fn label(self) -> &'static str {
        match self {
            WindowKind::Ever => "ever",
            WindowKind::LastDays => "in the last … days",
            WindowKind::Between => "between two dates",
        }
    }
}

/// Accepts a JSON string, number or list of strings (joined with commas) for a condition value, so API clients may
/// send `10000` or `["vip", "new"]` as naturally as the builder sends text.
fn value_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Given {
        Text(String),
        Integer(i64),
        Number(f64),
        List(Vec<String>),
        Nothing(()),
    }
    Ok(match Given::deserialize(deserializer)? {
        Given::Text(text) => text,
        Given::Integer(number) => number.to_string(),
        Given::Number(number) => number.to_string(),
        Given::List(items) => items.join(", "),
        Given::Nothing(()) => String::new(),
    })
}

/// What a field holds, which decides its operators and how its value is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    Money,
    Count,
    Date,
    Text,
    Tags,
    /// A customer's consent to a channel: one of [`Consent`]'s states.
    Consent,
    /// How many orders a customer placed in a window.
    OrdersIn,
    /// How much a customer's orders in a window add up to.
    SpendIn,
    /// A line item's SKU, compared exactly.
    Sku,
    /// A line item's product name, compared without case.
    ProductName,
    /// A campaign, by its name, that sent, was opened or was clicked.
    Campaign,
    /// Any message opened or clicked in the last N days.
    Engaged,
}

impl FieldKind {
    /// Whether conditions on the field look at orders in a time window.
    pub fn windowed(self) -> bool {
        matches!(
            self,
            FieldKind::OrdersIn | FieldKind::SpendIn | FieldKind::Sku | FieldKind::ProductName
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    TotalSpend,
    OrderCount,
    AverageOrderValue,
    LastOrderAt,
    FirstOrderAt,
    CreatedAt,
    Name,
    Email,
    City,
    Tags,
    EmailConsent,
    SmsConsent,
    /// Orders placed in the condition's window.
    Orders,
    /// Amount spent in the condition's window.
    Spent,
    /// Bought a product, by its SKU, in the window.
    BoughtSku,
    /// Bought a product, by its name, in the window.
    BoughtProduct,
    /// Was sent a message of the named campaign.
    #[serde(rename = "was_sent_campaign")]
    CampaignSent,
    /// Opened a message of the named campaign.
    #[serde(rename = "opened_campaign")]
    CampaignOpened,
    /// Clicked a link in a message of the named campaign.
    #[serde(rename = "clicked_campaign")]
    CampaignClicked,
    /// Opened any message in the last N days.
    OpenedAny,
    /// Clicked a link in any message in the last N days.
    ClickedAny,
}

impl Field {
    pub const ALL: [Field; 21] = [
        Field::TotalSpend,
        Field::OrderCount,
        Field::AverageOrderValue,
        Field::LastOrderAt,
        Field::FirstOrderAt,
        Field::CreatedAt,
        Field::Name,
        Field::Email,
        Field::City,
        Field::Tags,
        Field::EmailConsent,
        Field::SmsConsent,
        Field::Orders,
        Field::Spent,
        Field::BoughtSku,
        Field::BoughtProduct,
        Field::CampaignSent,
        Field::CampaignOpened,
        Field::CampaignClicked,
        Field::OpenedAny,
        Field::ClickedAny,
    ];

    pub fn kind(self) -> FieldKind {
        match self {
            Field::TotalSpend | Field::AverageOrderValue => FieldKind::Money,
            Field::OrderCount => FieldKind::Count,
            Field::LastOrderAt | Field::FirstOrderAt | Field::CreatedAt => FieldKind::Date,
            Field::Name | Field::Email | Field::City => FieldKind::Text,
            Field::Tags => FieldKind::Tags,
            Field::EmailConsent | Field::SmsConsent => FieldKind::Consent,
            Field::Orders => FieldKind::OrdersIn,
            Field::Spent => FieldKind::SpendIn,
            Field::BoughtSku => FieldKind::Sku,
            Field::BoughtProduct => FieldKind::ProductName,
            Field::CampaignSent | Field::CampaignOpened | Field::CampaignClicked => {
                FieldKind::Campaign
            }
            Field::OpenedAny | Field::ClickedAny => FieldKind::Engaged,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Field::TotalSpend => "Total spend",
            Field::OrderCount => "Order count",
            Field::AverageOrderValue => "Average order value",
            Field::LastOrderAt => "Last order",
            Field::FirstOrderAt => "First order",
            Field::CreatedAt => "Customer since",
            Field::Name => "Name",
            Field::Email => "Email",
            Field::City => "City",
            Field::Tags => "Tags",
            Field::EmailConsent => "Email consent",
            Field::SmsConsent => "SMS consent",
            Field::Orders => "Orders placed",
            Field::Spent => "Amount spent",
            Field::BoughtSku => "Bought SKU",
            Field::BoughtProduct => "Bought product named",
            Field::CampaignSent => "Was sent campaign",
            Field::CampaignOpened => "Opened campaign",
            Field::CampaignClicked => "Clicked in campaign",
            Field::OpenedAny => "Opened any message",
            Field::ClickedAny => "Clicked in any message",
        }
    }

    /// The name used in the API and in form values.
    pub fn key(self) -> &'static str {
        match self {
            Field::TotalSpend => "total_spend",
            Field::OrderCount => "order_count",
            Field::AverageOrderValue => "average_order_value",
            Field::LastOrderAt => "last_order_at",
            Field::FirstOrderAt => "first_order_at",
            Field::CreatedAt => "created_at",
            Field::Name => "name",
            Field::Email => "email",
            Field::City => "city",
            Field::Tags => "tags",
            Field::EmailConsent => "email_consent",
            Field::SmsConsent => "sms_consent",
            Field::Orders => "orders",
            Field::Spent => "spent",
            Field::BoughtSku => "bought_sku",
            Field::BoughtProduct => "bought_product",
            Field::CampaignSent => "was_sent_campaign",
            Field::CampaignOpened => "opened_campaign",
            Field::CampaignClicked => "clicked_campaign",
            Field::OpenedAny => "opened_any",
            Field::ClickedAny => "clicked_any",
        }
    }

    pub fn from_key(key: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|field| field.key() == key)
    }

    pub fn operators(self) -> &'static [Operator] {
        use Operator::*;
        match self.kind() {
            FieldKind::Money | FieldKind::Count => &[Eq, Ne, Gt, Gte, Lt, Lte, Between],
            FieldKind::Date => &[
                Before,
                After,
                OnOrBefore,
                OnOrAfter,
                On,
                Between,
                WithinDays,
                MoreThanDaysAgo,
                Never,
            ],
            FieldKind::Text => &[Eq, Ne, Contains, StartsWith, EndsWith, InList],
            FieldKind::Tags => &[HasAny, HasAll, HasNone],
            FieldKind::Consent => &[Eq, Ne],
            FieldKind::OrdersIn => &[Gte, Lte, Eq, Between, Never],
            FieldKind::SpendIn => &[Gte, Lte, Eq, Between],
            FieldKind::Sku => &[Eq, InList],
            FieldKind::ProductName => &[Eq, Contains, StartsWith, EndsWith],
            FieldKind::Campaign => &[Eq],
            FieldKind::Engaged => &[WithinDays],
        }
    }

    /// The operator as the builder offers it for this field: counts in a window read "at least 2", not "≥ 2".
    pub fn operator_label(self, operator: Operator) -> &'static str {
        match (self.kind(), operator) {
            (FieldKind::OrdersIn | FieldKind::SpendIn, Operator::Gte) => "at least",
            (FieldKind::OrdersIn | FieldKind::SpendIn, Operator::Lte) => "at most",
            (FieldKind::OrdersIn | FieldKind::SpendIn, Operator::Eq) => "exactly",
            (FieldKind::OrdersIn, Operator::Never) => "none",
            (FieldKind::Sku | FieldKind::ProductName, Operator::Eq) => "is",
            (FieldKind::Campaign, Operator::Eq) => "named",
            _ => operator.label(),
        }
    }

    /// The operator a new condition on this field starts with.
    pub fn default_operator(self) -> Operator {
        match self.kind() {
            FieldKind::Money | FieldKind::Count => Operator::Gt,
            FieldKind::Date => Operator::WithinDays,
            FieldKind::Text => Operator::Contains,
            FieldKind::Tags => Operator::HasAny,
            FieldKind::Consent => Operator::Eq,
            FieldKind::OrdersIn | FieldKind::SpendIn => Operator::Gte,
            FieldKind::Sku => Operator::Eq,
            FieldKind::ProductName => Operator::Contains,
            FieldKind::Campaign => Operator::Eq,
            FieldKind::Engaged => Operator::WithinDays,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
    Between,
    Before,
    After,
    OnOrBefore,
    OnOrAfter,
    On,
    WithinDays,
    MoreThanDaysAgo,
    Never,
    Contains,
    StartsWith,
    EndsWith,
    InList,
    HasAny,
    HasAll,
    HasNone,
}

impl Operator {
    pub const ALL: [Operator; 22] = [
        Operator::Eq,
        Operator::Ne,
        Operator::Gt,
        Operator::Gte,
        Operator::Lt,
        Operator::Lte,
        Operator::Between,
        Operator::Before,
        Operator::After,
        Operator::OnOrBefore,
        Operator::OnOrAfter,
        Operator::On,
        Operator::WithinDays,
        Operator::MoreThanDaysAgo,
        Operator::Never,
        Operator::Contains,
        Operator::StartsWith,
        Operator::EndsWith,
        Operator::InList,
        Operator::HasAny,
        Operator::HasAll,
        Operator::HasNone,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Operator::Eq => "eq",
            Operator::Ne => "ne",
            Operator::Gt => "gt",
            Operator::Gte => "gte",
            Operator::Lt => "lt",
            Operator::Lte => "lte",
            Operator::Between => "between",
            Operator::Before => "before",
            Operator::After => "after",
            Operator::OnOrBefore => "on_or_before",
            Operator::OnOrAfter => "on_or_after",
            Operator::On => "on",
            Operator::WithinDays => "within_days",
            Operator::MoreThanDaysAgo => "more_than_days_ago",
            Operator::Never => "never",
            Operator::Contains => "contains",
            Operator::StartsWith => "starts_with",
            Operator::EndsWith => "ends_with",
            Operator::InList => "in_list",
            Operator::HasAny => "has_any",
            Operator::HasAll => "has_all",
            Operator::HasNone => "has_none",
        }
    }

    pub fn from_key(key: &str) -> Option<Operator> {
        Operator::ALL
            .into_iter()
            .find(|operator| operator.key() == key)
    }

    pub fn label(self) -> &'static str {
        match self {
            Operator::Eq => "=",
            Operator::Ne => "≠",
            Operator::Gt => ">",
            Operator::Gte => "≥",
            Operator::Lt => "<",
            Operator::Lte => "≤",
            Operator::Between => "between",
            Operator::Before => "before",
            Operator::After => "after",
            Operator::OnOrBefore => "on or before",
            Operator::OnOrAfter => "on or after",
            Operator::On => "on",
            Operator::WithinDays => "within the last … days",
            Operator::MoreThanDaysAgo => "more than … days ago",
            Operator::Never => "never",
            Operator::Contains => "contains",
            Operator::StartsWith => "starts with",
            Operator::EndsWith => "ends with",
            Operator::InList => "is one of",
            Operator::HasAny => "has any of",
            Operator::HasAll => "has all of",
            Operator::HasNone => "has none of",
        }
    }

    /// How many values the operator takes: none, one, or two (a range).
    pub fn arity(self) -> usize {
        match self {
            Operator::Never => 0,
            Operator::Between => 2,
            _ => 1,
        }
    }
}

/// Where a rule sits in the tree: the index of each rule from the top group down.
pub type RulePath = Vec<usize>;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleProblem {
    pub path: RulePath,
    pub message: String,
}

impl RuleProblem {
    /// The path as people count: `1.2` is the second rule of the first rule's group.
    pub fn position(&self) -> String {
        self.path
            .iter()
            .map(|i| (i + 1).to_string())
            .collect::<Vec<_>>()
            .join(".")
    }
}

impl std::fmt::Display for RuleProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "condition {}: {}", self.position(), self.message)
        }
    }
}

/// A range of instants, `[start, end)` in milliseconds since the epoch (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub start_ms: i64,
    pub end_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NumberTest {
    Eq(i64),
    Ne(i64),
    Gt(i64),
    Gte(i64),
    Lt(i64),
    Lte(i64),
    /// Inclusive at both ends.
    Between(i64, i64),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DateTest {
    /// Earlier than the instant.
    Before(i64),
    /// At or after the instant.
    NotBefore(i64),
    Within(Span),
    /// At or after `now - days`, evaluated when the segment is used.
    WithinDays(u32),
    /// Before `now - days`, evaluated when the segment is used.
    MoreThanDaysAgo(u32),
    Never,
}

/// Text tests take lower-case values: the compared fields are stored lower-cased.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TextTest {
    Eq(String),
    Ne(String),
    Contains(String),
    StartsWith(String),
    EndsWith(String),
    InList(Vec<String>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TagTest {
    Any(Vec<String>),
    All(Vec<String>),
    None(Vec<String>),
}

/// A checked condition, ready to compile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Criterion {
    /// Amounts in cents, counts as they are.
    Number(Field, NumberTest),
    Date(Field, DateTest),
    Text(Field, TextTest),
    Tags(TagTest),
    /// The channel's consent is (`true`) or is not (`false`) this state.
    Consent(Channel, bool, Consent),
    /// How many orders, or how much in cents, a customer placed in a window.
    Ordered(Measure, NumberTest, Period),
    /// Bought at least `min_quantity` of a product in a window, all orders of the window together.
    Bought {
        product: ProductTest,
        min_quantity: u32,
        period: Period,
    },
    /// Was sent, opened or clicked a message: of the campaigns of a name, or of any in the last N days.
    Engaged(Engagement, Engaged),
}

/// What a customer did with a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Engagement {
    Sent,
    Opened,
    Clicked,
}

/// Which messages an engagement condition looks at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Engaged {
    /// Those of the campaigns with this name (exactly as shown in the campaign list).
    Campaign(String),
    /// Any, in the last N days up to the moment the segment is used.
    WithinDays(u32),
}

/// A checked window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    Ever,
    /// The last N days up to the moment the segment is used.
    LastDays(u32),
    Within(Span),
}

/// What an order condition adds up over its window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Measure {
    Orders,
    SpendCents,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProductTest {
    /// Any of these SKUs, exactly as stored.
    Sku(Vec<String>),
    /// A name, compared without case.
    Name(TextTest),
}

impl NumberTest {
    /// Whether `value` passes: a windowed condition that holds for 0 also holds for customers without orders in
    /// the window.
    pub fn holds(&self, value: i64) -> bool {
        match *self {
            NumberTest::Eq(v) => value == v,
            NumberTest::Ne(v) => value != v,
            NumberTest::Gt(v) => value > v,
            NumberTest::Gte(v) => value >= v,
            NumberTest::Lt(v) => value < v,
            NumberTest::Lte(v) => value <= v,
            NumberTest::Between(low, high) => (low..=high).contains(&value),
        }
    }
}

/// A checked group: only groups with conditions remain (see [`check_rule`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedGroup {
    pub combinator: Combinator,
    pub negated: bool,
    pub parts: Vec<CheckedRule>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckedRule {
    Criterion(Criterion),
    Group(CheckedGroup),
}

/// Checks every condition of the rule and the tree's limits, reporting each problem at its place. Groups without
/// any condition restrict nothing and are left out, so an empty rule matches every customer.
pub fn check_rule(rule: &RuleGroup) -> Result<CheckedGroup, Vec<RuleProblem>> {
    let mut problems = Vec::new();
    let conditions = count_conditions(rule);
    if conditions > MAX_CONDITIONS {
        problems.push(RuleProblem {
            path: vec![],
            message: format!("A segment may have at most {MAX_CONDITIONS} conditions; this one has {conditions}."),
        });
    }
    let checked = check_group(rule, &mut vec![], &mut problems);
    if problems.is_empty() {
        Ok(checked)
    } else {
        Err(problems)
    }
}

pub fn count_conditions(group: &RuleGroup) -> usize {
    group
        .rules
        .iter()
        .map(|rule| match rule {
            Rule::Condition(_) => 1,
            Rule::Group(group) => count_conditions(group),
        })
        .sum()
}

fn check_group(
    group: &RuleGroup,
    path: &mut RulePath,
    problems: &mut Vec<RuleProblem>,
) -> CheckedGroup {
    let mut parts = Vec::new();
    for (index, rule) in group.rules.iter().enumerate() {
        path.push(index);
        match rule {
            Rule::Condition(condition) => match check_condition(condition) {
                Ok(criterion) => parts.push(CheckedRule::Criterion(criterion)),
                Err(message) => problems.push(RuleProblem {
                    path: path.clone(),
                    message,
                }),
            },
            Rule::Group(inner) if path.len() > MAX_DEPTH => problems.push(RuleProblem {
                path: path.clone(),
                message: format!("Groups may be nested at most {MAX_DEPTH} deep."),
            }),
            Rule::Group(inner) => {
                let checked = check_group(inner, path, problems);
                if !checked.parts.is_empty() {
                    parts.push(CheckedRule::Group(checked));
                }
            }
        }
        path.pop();
    }
    CheckedGroup {
        combinator: group.combinator,
        negated: group.negated,
        parts,
    }
}

/// Checks one condition; the message says what to change, in the words of the builder.
pub fn check_condition(condition: &Condition) -> Result<Criterion, String> {
    let Condition {
        field,
        operator,
        value,
        value_to,
        ..
    } = condition;
    let (field, operator) = (*field, *operator);
    if !field.operators().contains(&operator) {
        return Err(format!(
            "{} cannot be compared with “{}”.",
            field.label(),
            operator.label()
        ));
    }
    if too_long(value) || too_long(value_to) {
        return Err(format!(
            "Use at most {MAX_VALUE_LENGTH} characters in a value."
        ));
    }
    let value = value.trim();
    let value_to = value_to.trim();
    if operator.arity() > 0 && value.is_empty() {
        return Err(match operator.arity() {
            2 => "Enter both ends of the range.".to_owned(),
            _ => "Enter a value.".to_owned(),
        });
    }
    if operator.arity() == 2 && value_to.is_empty() {
        return Err("Enter both ends of the range.".to_owned());
    }
    if !field.kind().windowed() && !condition.window.is_ever() {
        return Err(format!("{} takes no time window.", field.label()));
    }
    if !matches!(field.kind(), FieldKind::Sku | FieldKind::ProductName)
        && !condition.min_quantity.trim().is_empty()
    {
        return Err(format!("{} takes no quantity.", field.label()));
    }
    match field.kind() {
        FieldKind::Campaign => {
            let engagement = match field {
                Field::CampaignSent => Engagement::Sent,
                Field::CampaignOpened => Engagement::Opened,
                _ => Engagement::Clicked,
            };
            if value.chars().count() > MAX_TEXT_LENGTH {
                return Err(format!("Use at most {MAX_TEXT_LENGTH} characters."));
            }
            Ok(Criterion::Engaged(
                engagement,
                Engaged::Campaign(value.to_owned()),
            ))
        }
        FieldKind::Engaged => {
            let engagement = if field == Field::OpenedAny {
                Engagement::Opened
            } else {
                Engagement::Clicked
            };
            Ok(Criterion::Engaged(
                engagement,
                Engaged::WithinDays(read_days(value)?),
            ))
        }
        FieldKind::OrdersIn | FieldKind::SpendIn => {
            let period = read_window(&condition.window)?;
            let read = |text: &str| read_number(field, text);
            let test = match operator {
                Operator::Gte => NumberTest::Gte(read(value)?),
                Operator::Lte => NumberTest::Lte(read(value)?),
                Operator::Eq => NumberTest::Eq(read(value)?),
                Operator::Between => {
                    let (low, high) = (read(value)?, read(value_to)?);
                    NumberTest::Between(low.min(high), low.max(high))
                }
                Operator::Never => NumberTest::Eq(0),
                _ => unreachable!("operators are checked against the field above"),
            };
            let measure = if field.kind() == FieldKind::OrdersIn {
                Measure::Orders
            } else {
                Measure::SpendCents
            };
            Ok(Criterion::Ordered(measure, test, period))
        }
        FieldKind::Sku | FieldKind::ProductName => {
            let period = read_window(&condition.window)?;
            let min_quantity = read_quantity(&condition.min_quantity)?;
            let product = if field.kind() == FieldKind::Sku {
                ProductTest::Sku(read_list_with(value, read_sku)?)
            } else {
                let text = read_text(value)?;
                ProductTest::Name(match operator {
                    Operator::Eq => TextTest::Eq(text),
                    Operator::Contains => TextTest::Contains(text),
                    Operator::StartsWith => TextTest::StartsWith(text),
                    Operator::EndsWith => TextTest::EndsWith(text),
                    _ => unreachable!("operators are checked against the field above"),
                })
            };
            Ok(Criterion::Bought {
                product,
                min_quantity,
                period,
            })
        }
        FieldKind::Money | FieldKind::Count => {
            let read = |text: &str| read_number(field, text);
            let test = match operator {
                Operator::Eq => NumberTest::Eq(read(value)?),
                Operator::Ne => NumberTest::Ne(read(value)?),
                Operator::Gt => NumberTest::Gt(read(value)?),
                Operator::Gte => NumberTest::Gte(read(value)?),
                Operator::Lt => NumberTest::Lt(read(value)?),
                Operator::Lte => NumberTest::Lte(read(value)?),
                Operator::Between => {
                    let (low, high) = (read(value)?, read(value_to)?);
                    // Bounds typed the wrong way round mean the same range.
                    NumberTest::Between(low.min(high), low.max(high))
                }
                _ => unreachable!("operators are checked against the field above"),
            };
            Ok(Criterion::Number(field, test))
        }
        FieldKind::Date => {
            let test = match operator {
                Operator::Before => DateTest::Before(read_moment(value)?.start_ms),
                Operator::After => DateTest::NotBefore(read_moment(value)?.end_ms),
                Operator::OnOrBefore => DateTest::Before(read_moment(value)?.end_ms),
                Operator::OnOrAfter => DateTest::NotBefore(read_moment(value)?.start_ms),
                Operator::On => DateTest::Within(read_moment(value)?),
                Operator::Between => {
                    let (first, second) = (read_moment(value)?, read_moment(value_to)?);
                    DateTest::Within(Span {
                        start_ms: first.start_ms.min(second.start_ms),
                        end_ms: first.end_ms.max(second.end_ms),
                    })
                }
                Operator::WithinDays => DateTest::WithinDays(read_days(value)?),
                Operator::MoreThanDaysAgo => DateTest::MoreThanDaysAgo(read_days(value)?),
                Operator::Never => DateTest::Never,
                _ => unreachable!("operators are checked against the field above"),
            };
            Ok(Criterion::Date(field, test))
        }
        FieldKind::Text => {
            let test = match operator {
                Operator::InList => TextTest::InList(read_list(value)?),
                _ => {
                    let text = read_text(value)?;
                    match operator {
                        Operator::Eq => TextTest::Eq(text),
                        Operator::Ne => TextTest::Ne(text),
                        Operator::Contains => TextTest::Contains(text),
                        Operator::StartsWith => TextTest::StartsWith(text),
                        Operator::EndsWith => TextTest::EndsWith(text),
                        _ => unreachable!("operators are checked against the field above"),
                    }
                }
            };
            Ok(Criterion::Text(field, test))
        }
        FieldKind::Consent => {
            let channel = if field == Field::SmsConsent {
                Channel::Sms
            } else {
                Channel::Email
            };
            let consent = Consent::parse(&value.to_ascii_lowercase()).ok_or_else(|| {
                "Choose subscribed, unsubscribed, bounced or complained.".to_owned()
            })?;
            Ok(Criterion::Consent(
                channel,
                operator == Operator::Eq,
                consent,
            ))
        }
        FieldKind::Tags => {
            let tags = read_list(value)?
                .into_iter()
                .map(|tag| normalize_tag(&tag))
                .collect();
            Ok(Criterion::Tags(match operator {
                Operator::HasAny => TagTest::Any(tags),
                Operator::HasAll => TagTest::All(tags),
                Operator::HasNone => TagTest::None(tags),
                _ => unreachable!("operators are checked against the field above"),
            }))
        }
    }
}

fn read_number(field: Field, text: &str) -> Result<i64, String> {
    if matches!(field.kind(), FieldKind::Count | FieldKind::OrdersIn) {
        return text.parse::<u32>().map(i64::from).map_err(|_| {
            format!(
                "{}: enter a whole number of 0 or more, e.g. 3.",
                field.label()
            )
        });
    }
    cents_from_text(text).map_err(|error| match error {
        MoneyError::Negative => format!("{}: enter an amount of 0 or more.", field.label()),
        MoneyError::TooManyDecimals => format!("{}: use at most two decimals.", field.label()),
        MoneyError::TooLarge => format!(
            "{}: {text} is larger than any total Realm keeps.",
            field.label()
        ),
        MoneyError::NotANumber => {
            format!("{}: enter an amount such as 100 or 49.90.", field.label())
        }
    })
}

/// A date (`2026-11-27`, the whole UTC day) or an instant, with its offset or in UTC (`shared::time::read_iso`).
pub fn read_moment(text: &str) -> Result<Span, String> {
    use crate::shared::time::{ms_of, read_iso, Precision, DAY_MS};
    let (moment, precision) = read_iso(text)
        .ok_or_else(|| format!("“{text}” is not a date; use the form 2026-11-27."))?;
    let start_ms = ms_of(moment);
    Ok(Span {
        start_ms,
        end_ms: start_ms
            + match precision {
                Precision::Day => DAY_MS,
                Precision::Instant => 1,
            },
    })
}

fn read_days(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(days) if (1..=MAX_DAYS).contains(&days) => Ok(days),
        _ => Err(format!("Enter a number of days from 1 to {MAX_DAYS}.")),
    }
}

/// A window's days or dates; a range typed the wrong way round means the same range.
fn read_window(window: &Window) -> Result<Period, String> {
    match window.kind {
        WindowKind::Ever => Ok(Period::Ever),
        WindowKind::LastDays => read_days(window.days.trim())
            .map(Period::LastDays)
            .map_err(|_| format!("Window: enter a number of days from 1 to {MAX_DAYS}.")),
        WindowKind::Between => {
            let (from, to) = (window.from.trim(), window.to.trim());
            if from.is_empty() || to.is_empty() || too_long(from) || too_long(to) {
                return Err("Window: enter both dates.".to_owned());
            }
            let (first, second) = (read_moment(from)?, read_moment(to)?);
            Ok(Period::Within(Span {
                start_ms: first.start_ms.min(second.start_ms),
                end_ms: first.end_ms.max(second.end_ms),
            }))
        }
    }
}

/// Most units of a product a condition may ask for.
pub const MAX_QUANTITY: u32 = 1_000_000;

fn read_quantity(text: &str) -> Result<u32, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(1);
    }
    match text.parse::<u32>() {
        Ok(quantity) if (1..=MAX_QUANTITY).contains(&quantity) => Ok(quantity),
        _ => Err(format!(
            "Quantity: enter a whole number from 1 to {MAX_QUANTITY}, or leave it empty for any."
        )),
    }
}

/// SKUs are codes: compared exactly as typed, without surrounding spaces.
fn read_sku(text: &str) -> Result<String, String> {
    if text.chars().count() > MAX_TEXT_LENGTH {
        return Err(format!("Use at most {MAX_TEXT_LENGTH} characters."));
    }
    Ok(text.to_owned())
}

fn read_text(text: &str) -> Result<String, String> {
    if text.chars().count() > MAX_TEXT_LENGTH {
        return Err(format!("Use at most {MAX_TEXT_LENGTH} characters."));
    }
    Ok(text.to_lowercase())
}

fn read_list(text: &str) -> Result<Vec<String>, String> {
    read_list_with(text, read_text)
}

fn read_list_with(
    text: &str,
    read: fn(&str) -> Result<String, String>,
) -> Result<Vec<String>, String> {
    let mut items: Vec<String> = Vec::new();
    for item in text
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
    {
        let item = read(item)?;
        if !items.contains(&item) {
            items.push(item);
        }
        // Stop as soon as the list is too long: the check for repeats is quadratic in its length.
        if items.len() > MAX_LIST_ENTRIES {
            break;
        }
    }
    match items.len() {
        0 => Err("Enter at least one value; separate several with commas.".to_owned()),
        n if n > MAX_LIST_ENTRIES => Err(format!("Use at most {MAX_LIST_ENTRIES} values.")),
        _ => Ok(items),
    }
}

/// Tags are compared without case or surrounding spaces.
pub fn normalize_tag(tag: &str) -> String {
    tag.trim().to_lowercase()
}

impl RuleGroup {
    pub fn new(combinator: Combinator) -> Self {
        Self {
            combinator,
            negated: false,
            rules: Vec::new(),
        }
    }

    /// A one-line reading of the rule, e.g. `Total spend > 100.00 and (Order count < 3 or Last order never)`.
    pub fn summary(&self) -> String {
        let text = self.summary_inner();
        if text.is_empty() {
            "Every customer".to_owned()
        } else {
            text
        }
    }

    fn summary_inner(&self) -> String {
        let joiner = match self.combinator {
            Combinator::All => " and ",
            Combinator::Any => " or ",
        };
        let parts: Vec<String> = self
            .rules
            .iter()
            .filter_map(|rule| match rule {
                Rule::Condition(condition) => Some(condition.summary()),
                Rule::Group(group) => {
                    let inner = group.summary_inner();
                    // A negated group already reads "not (…)"; a single condition needs no brackets.
                    if inner.is_empty() || group.negated || group.rules.len() == 1 {
                        (!inner.is_empty()).then_some(inner)
                    } else {
                        Some(format!("({inner})"))
                    }
                }
            })
            .collect();
        let joined = parts.join(joiner);
        if self.negated && !joined.is_empty() {
            format!("not ({joined})")
        } else {
            joined
        }
    }
}

impl Condition {
    pub fn new(field: Field) -> Self {
        Self {
            field,
            operator: field.default_operator(),
            value: String::new(),
            value_to: String::new(),
            window: Window::default(),
            min_quantity: String::new(),
        }
    }

    pub fn summary(&self) -> String {
        let (field, operator) = (self.field.label(), self.operator);
        if self.field.kind().windowed() {
            return self.order_summary();
        }
        let value = self.value.trim();
        match self.field {
            Field::CampaignSent => return format!("was sent campaign “{value}”"),
            Field::CampaignOpened => return format!("opened campaign “{value}”"),
            Field::CampaignClicked => return format!("clicked in campaign “{value}”"),
            Field::OpenedAny => return format!("opened any message in the last {value} days"),
            Field::ClickedAny => return format!("clicked in any message in the last {value} days"),
            _ => {}
        }
        match operator {
            Operator::Never => format!("{field} never"),
            Operator::Between => format!(
                "{field} between {} and {}",
                self.value.trim(),
                self.value_to.trim()
            ),
            Operator::WithinDays => format!("{field} within the last {} days", self.value.trim()),
            Operator::MoreThanDaysAgo => {
                format!("{field} more than {} days ago", self.value.trim())
            }
            _ if self.field.kind() == FieldKind::Text && operator != Operator::InList => {
                format!("{field} {} “{}”", operator.label(), self.value.trim())
            }
            _ => format!("{field} {} {}", operator.label(), self.value.trim()),
        }
    }

    /// An order condition in words: "ordered at least 2 times in the last 30 days".
    fn order_summary(&self) -> String {
        let (value, value_to) = (self.value.trim(), self.value_to.trim());
        let window = self.window.summary();
        let amount = |unit: &dyn Fn(&str) -> String| match self.operator {
            Operator::Between => format!("between {} and {}", value, unit(value_to)),
            operator => format!("{} {}", self.field.operator_label(operator), unit(value)),
        };
        let quantity = match self.min_quantity.trim() {
            "" | "1" => String::new(),
            quantity => format!(" at least {quantity} of"),
        };
        match self.field {
            Field::Orders if self.operator == Operator::Never => format!("has not ordered{window}"),
            Field::Orders => format!(
                "ordered {}{window}",
                amount(&|n| format!("{n} {}", if n == "1" { "time" } else { "times" }))
            ),
            Field::Spent => format!("spent {}{window}", amount(&|n| n.to_owned())),
            Field::BoughtSku if self.operator == Operator::InList => {
                format!("bought{quantity} one of SKUs {value}{window}")
            }
            Field::BoughtSku => format!("bought{quantity} SKU “{value}”{window}"),
            _ => format!(
                "bought{quantity} a product whose name {} “{value}”{window}",
                match self.operator {
                    Operator::Eq => "is",
                    operator => operator.label(),
                }
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared::time::DAY_MS;

    fn condition(field: Field, operator: Operator, value: &str) -> Condition {
        Condition {
            operator,
            value: value.to_owned(),
            ..Condition::new(field)
        }
    }

    fn all(rules: Vec<Rule>) -> RuleGroup {
        RuleGroup {
            combinator: Combinator::All,
            negated: false,
            rules,
        }
    }

    #[test]
    fn a_huge_list_value_is_refused_before_it_is_read() {
        let huge = (0..200_000)
            .map(|i| format!("t{i}"))
            .collect::<Vec<_>>()
            .join(",");
        let error = check_condition(&condition(Field::Tags, Operator::HasAny, &huge)).unwrap_err();
        assert!(error.contains("at most"), "{error}");
        // Under the limit but with too many entries: refused at the 101st, not after reading them all.
        let many = (0..2_000)
            .map(|i| format!("{i}"))
            .collect::<Vec<_>>()
            .join(",");
        assert!(many.len() < MAX_VALUE_LENGTH);
        let error = check_condition(&condition(Field::Tags, Operator::HasAny, &many)).unwrap_err();
        assert!(
            error.contains(&format!("at most {MAX_LIST_ENTRIES} values")),
            "{error}"
        );
    }

    #[test]
    fn every_field_offers_its_default_operator() {
        for field in Field::ALL {
            assert!(
                field.operators().contains(&field.default_operator()),
                "{field:?}"
            );
            assert_eq!(Field::from_key(field.key()), Some(field));
        }
        for operator in Operator::ALL {
            assert_eq!(Operator::from_key(operator.key()), Some(operator));
        }
    }

    #[test]
    fn money_values_become_cents_and_counts_stay_whole() {
        assert_eq!(
            check_condition(&condition(Field::TotalSpend, Operator::Gt, "10000")),
            Ok(Criterion::Number(
                Field::TotalSpend,
                NumberTest::Gt(1_000_000)
            ))
        );
        assert_eq!(
            check_condition(&condition(Field::AverageOrderValue, Operator::Lte, "49.9")),
            Ok(Criterion::Number(
                Field::AverageOrderValue,
                NumberTest::Lte(4_990)
            ))
        );
        assert_eq!(
            check_condition(&condition(Field::OrderCount, Operator::Eq, "0")),
            Ok(Criterion::Number(Field::OrderCount, NumberTest::Eq(0)))
        );
        assert_eq!(
            check_condition(&condition(Field::OrderCount, Operator::Lt, "2.5")),
            Err("Order count: enter a whole number of 0 or more, e.g. 3.".to_owned())
        );
        assert_eq!(
            check_condition(&condition(Field::TotalSpend, Operator::Gt, "-5")),
            Err("Total spend: enter an amount of 0 or more.".to_owned())
        );
        assert_eq!(
            check_condition(&condition(Field::TotalSpend, Operator::Gt, "1.234")),
            Err("Total spend: use at most two decimals.".to_owned())
        );
        assert_eq!(
            check_condition(&condition(Field::TotalSpend, Operator::Gt, " ")),
            Err("Enter a value.".to_owned())
        );
    }

    #[test]
    fn between_with_reversed_bounds_means_the_same_range() {
        let reversed = Condition {
            value_to: "100".to_owned(),
            ..condition(Field::TotalSpend, Operator::Between, "500")
        };
        assert_eq!(
            check_condition(&reversed),
            Ok(Criterion::Number(
                Field::TotalSpend,
                NumberTest::Between(10_000, 50_000)
            ))
        );
        let dates = Condition {
            value_to: "2026-01-01".to_owned(),
            ..condition(Field::CreatedAt, Operator::Between, "2026-01-31")
        };
        let january = Span {
            start_ms: 1_767_225_600_000,
            end_ms: 1_769_904_000_000,
        };
        assert_eq!(
            check_condition(&dates),
            Ok(Criterion::Date(Field::CreatedAt, DateTest::Within(january)))
        );
        let missing = condition(Field::OrderCount, Operator::Between, "1");
        assert_eq!(
            check_condition(&missing),
            Err("Enter both ends of the range.".to_owned())
        );
    }

    #[test]
    fn a_date_is_a_whole_utc_day_and_an_instant_keeps_its_offset() {
        // 2026-03-01T00:00:00Z
        let day_start = 1_772_323_200_000;
        let day = read_moment("2026-03-01").unwrap();
        assert_eq!(
            day,
            Span {
                start_ms: day_start,
                end_ms: day_start + DAY_MS
            }
        );
        // Nine in the morning at +02:00 is seven in the morning UTC.
        let instant = read_moment("2026-03-01T09:00:00+02:00").unwrap();
        assert_eq!(instant.start_ms, day_start + 7 * 3_600_000);
        assert_eq!(
            read_moment("2026-03-01T09:00").unwrap().start_ms,
            day_start + 9 * 3_600_000
        );
        assert!(read_moment("01/03/2026")
            .unwrap_err()
            .contains("2026-11-27"));

        let after = check_condition(&condition(
            Field::LastOrderAt,
            Operator::After,
            "2026-03-01",
        ))
        .unwrap();
        assert_eq!(
            after,
            Criterion::Date(Field::LastOrderAt, DateTest::NotBefore(day_start + DAY_MS))
        );
        let before = check_condition(&condition(
            Field::LastOrderAt,
            Operator::Before,
            "2026-03-01",
        ))
        .unwrap();
        assert_eq!(
            before,
            Criterion::Date(Field::LastOrderAt, DateTest::Before(day_start))
        );
        let on_or_before = check_condition(&condition(
            Field::LastOrderAt,
            Operator::OnOrBefore,
            "2026-03-01",
        ))
        .unwrap();
        assert_eq!(
            on_or_before,
            Criterion::Date(Field::LastOrderAt, DateTest::Before(day_start + DAY_MS))
        );
    }

    #[test]
    fn relative_dates_take_a_number_of_days() {
        assert_eq!(
            check_condition(&condition(Field::LastOrderAt, Operator::WithinDays, "90")),
            Ok(Criterion::Date(
                Field::LastOrderAt,
                DateTest::WithinDays(90)
            ))
        );
        assert!(check_condition(&condition(
            Field::LastOrderAt,
            Operator::MoreThanDaysAgo,
            "0"
        ))
        .is_err());
        assert_eq!(
            check_condition(&condition(Field::FirstOrderAt, Operator::Never, "")),
            Ok(Criterion::Date(Field::FirstOrderAt, DateTest::Never))
        );
    }

    #[test]
    fn text_and_tags_compare_without_case() {
        assert_eq!(
            check_condition(&condition(
                Field::City,
                Operator::InList,
                "Berlin, paris ,, BERLIN"
            )),
            Ok(Criterion::Text(
                Field::City,
                TextTest::InList(vec!["berlin".into(), "paris".into()])
            ))
        );
        assert_eq!(
            check_condition(&condition(Field::Name, Operator::StartsWith, "Ada")),
            Ok(Criterion::Text(
                Field::Name,
                TextTest::StartsWith("ada".into())
            ))
        );
        assert_eq!(
            check_condition(&condition(Field::Tags, Operator::HasNone, " VIP ")),
            Ok(Criterion::Tags(TagTest::None(vec!["vip".into()])))
        );
        assert_eq!(
            check_condition(&condition(Field::Tags, Operator::HasAll, ", ,")),
            Err("Enter at least one value; separate several with commas.".to_owned())
        );
    }

    #[test]
    fn an_operator_of_another_kind_of_field_is_refused() {
        assert_eq!(
            check_condition(&condition(Field::Email, Operator::Gt, "a")),
            Err("Email cannot be compared with “>”.".to_owned())
        );
        assert!(check_condition(&condition(Field::TotalSpend, Operator::HasAny, "a")).is_err());
    }

    #[test]
    fn problems_are_reported_at_their_place_in_the_tree() {
        let rule = all(vec![
            Rule::Condition(condition(Field::TotalSpend, Operator::Gt, "100")),
            Rule::Group(RuleGroup {
                combinator: Combinator::Any,
                negated: false,
                rules: vec![
                    Rule::Condition(condition(Field::OrderCount, Operator::Lt, "three")),
                    Rule::Condition(condition(Field::LastOrderAt, Operator::MoreThanDaysAgo, "")),
                ],
            }),
        ]);
        let problems = check_rule(&rule).unwrap_err();
        assert_eq!(
            problems.iter().map(|p| p.position()).collect::<Vec<_>>(),
            ["2.1", "2.2"]
        );
        assert_eq!(problems[1].to_string(), "condition 2.2: Enter a value.");
    }

    #[test]
    fn empty_groups_restrict_nothing() {
        let rule = all(vec![
            Rule::Group(RuleGroup::new(Combinator::Any)),
            Rule::Condition(condition(Field::OrderCount, Operator::Gt, "1")),
        ]);
        let checked = check_rule(&rule).unwrap();
        assert_eq!(
            checked.parts,
            vec![CheckedRule::Criterion(Criterion::Number(
                Field::OrderCount,
                NumberTest::Gt(1)
            ))]
        );
        assert!(check_rule(&RuleGroup::new(Combinator::Any))
            .unwrap()
            .parts
            .is_empty());
        assert_eq!(RuleGroup::new(Combinator::All).summary(), "Every customer");
    }

    #[test]
    fn depth_and_size_are_limited() {
        let mut deep = all(vec![Rule::Condition(condition(
            Field::OrderCount,
            Operator::Gt,
            "1",
        ))]);
        for _ in 0..=MAX_DEPTH {
            deep = all(vec![Rule::Group(deep)]);
        }
        let problems = check_rule(&deep).unwrap_err();
        assert_eq!(
            problems[0].message,
            format!("Groups may be nested at most {MAX_DEPTH} deep.")
        );

        let wide = all((0..=MAX_CONDITIONS)
            .map(|_| Rule::Condition(condition(Field::OrderCount, Operator::Gt, "1")))
            .collect());
        assert!(check_rule(&wide).unwrap_err()[0]
            .message
            .contains("at most 50 conditions"));
    }

    #[test]
    fn the_summary_reads_like_the_rule() {
        let rule = all(vec![
            Rule::Condition(condition(Field::TotalSpend, Operator::Gt, "10000")),
            Rule::Group(RuleGroup {
                combinator: Combinator::Any,
                negated: false,
                rules: vec![
                    Rule::Condition(condition(Field::OrderCount, Operator::Lt, "3")),
                    Rule::Condition(condition(
                        Field::LastOrderAt,
                        Operator::MoreThanDaysAgo,
                        "90",
                    )),
                ],
            }),
        ]);
        assert_eq!(
            rule.summary(),
            "Total spend > 10000 and (Order count < 3 or Last order more than 90 days ago)"
        );
    }

    #[test]
    fn api_values_may_be_numbers_or_lists() {
        let condition: Condition =
            serde_json::from_str(r#"{"field": "total_spend", "operator": "gt", "value": 10000}"#)
                .unwrap();
        assert_eq!(condition.value, "10000");
        let tags: Condition = serde_json::from_str(
            r#"{"field": "tags", "operator": "has_any", "value": ["vip", "new"]}"#,
        )
        .unwrap();
        assert_eq!(tags.value, "vip, new");
        let rule: RuleGroup = serde_json::from_str(
            r#"{"combinator": "any", "rules": [{"kind": "group", "combinator": "all", "negated": true, "rules": []}]}"#,
        )
        .unwrap();
        assert!(matches!(&rule.rules[0], Rule::Group(group) if group.negated));
    }

    #[test]
    fn a_consent_condition_takes_a_state_and_says_which_channel() {
        let checked = check_condition(&condition(Field::SmsConsent, Operator::Ne, "Unsubscribed"));
        assert_eq!(
            checked,
            Ok(Criterion::Consent(
                Channel::Sms,
                false,
                Consent::Unsubscribed
            ))
        );
        assert!(check_condition(&condition(Field::EmailConsent, Operator::Eq, "perhaps")).is_err());
        assert!(
            check_condition(&condition(Field::EmailConsent, Operator::Contains, "sub")).is_err()
        );
    }

    fn windowed(field: Field, operator: Operator, value: &str, window: Window) -> Condition {
        Condition {
            window,
            ..condition(field, operator, value)
        }
    }

    #[test]
    fn order_conditions_take_a_window_of_days_dates_or_ever() {
        let last_30 = windowed(Field::Orders, Operator::Gte, "2", Window::last_days(30));
        assert_eq!(
            check_condition(&last_30),
            Ok(Criterion::Ordered(
                Measure::Orders,
                NumberTest::Gte(2),
                Period::LastDays(30)
            ))
        );
        let march = Window {
            kind: WindowKind::Between,
            from: "2026-03-31".into(),
            to: "2026-03-01".into(),
            ..Window::default()
        };
        assert_eq!(
            check_condition(&windowed(Field::Spent, Operator::Lte, "200.50", march)),
            Ok(Criterion::Ordered(
                Measure::SpendCents,
                NumberTest::Lte(20_050),
                Period::Within(Span {
                    start_ms: 1_772_323_200_000,
                    end_ms: 1_772_323_200_000 + 31 * DAY_MS,
                })
            )),
            "dates the wrong way round mean the same window, both days included"
        );
        assert_eq!(
            check_condition(&condition(Field::Orders, Operator::Never, "")),
            Ok(Criterion::Ordered(
                Measure::Orders,
                NumberTest::Eq(0),
                Period::Ever
            ))
        );
        let no_days = windowed(Field::Orders, Operator::Gte, "1", Window::last_days(0));
        assert!(check_condition(&no_days)
            .unwrap_err()
            .starts_with("Window:"));
        let half_range = Window {
            kind: WindowKind::Between,
            from: "2026-03-01".into(),
            ..Window::default()
        };
        assert!(
            check_condition(&windowed(Field::Orders, Operator::Gte, "1", half_range))
                .unwrap_err()
                .contains("both dates")
        );
        assert!(check_condition(&windowed(
            Field::Orders,
            Operator::Gte,
            "1.5",
            Window::default()
        ))
        .unwrap_err()
        .contains("whole number"));
    }

    #[test]
    fn only_order_conditions_take_a_window_and_only_products_a_quantity() {
        let spend_in_window = windowed(Field::TotalSpend, Operator::Gt, "1", Window::last_days(7));
        assert!(check_condition(&spend_in_window)
            .unwrap_err()
            .contains("no time window"));
        let counted = Condition {
            min_quantity: "2".into(),
            ..condition(Field::Orders, Operator::Gte, "1")
        };
        assert!(check_condition(&counted)
            .unwrap_err()
            .contains("no quantity"));
        assert!(check_condition(&condition(Field::Orders, Operator::Gt, "1")).is_err());
    }

    #[test]
    fn products_are_found_by_exact_sku_or_by_name_without_case() {
        let skus = Condition {
            min_quantity: "3".into(),
            ..windowed(
                Field::BoughtSku,
                Operator::InList,
                "MUG-Blue, mug-blue, MUG-Blue",
                Window::last_days(30),
            )
        };
        assert_eq!(
            check_condition(&skus),
            Ok(Criterion::Bought {
                product: ProductTest::Sku(vec!["MUG-Blue".into(), "mug-blue".into()]),
                min_quantity: 3,
                period: Period::LastDays(30),
            })
        );
        assert_eq!(
            check_condition(&condition(
                Field::BoughtProduct,
                Operator::Contains,
                "Blue Mug"
            )),
            Ok(Criterion::Bought {
                product: ProductTest::Name(TextTest::Contains("blue mug".into())),
                min_quantity: 1,
                period: Period::Ever,
            })
        );
        let none = Condition {
            min_quantity: "0".into(),
            ..condition(Field::BoughtSku, Operator::Eq, "MUG")
        };
        assert!(check_condition(&none).unwrap_err().starts_with("Quantity:"));
        assert!(check_condition(&condition(Field::BoughtSku, Operator::Contains, "MUG")).is_err());
    }

    #[test]
    fn order_conditions_read_naturally_in_the_summary() {
        let summary = |condition: Condition| condition.summary();
        assert_eq!(
            summary(windowed(
                Field::Orders,
                Operator::Gte,
                "2",
                Window::last_days(30)
            )),
            "ordered at least 2 times in the last 30 days"
        );
        assert_eq!(
            summary(windowed(
                Field::Orders,
                Operator::Eq,
                "1",
                Window::default()
            )),
            "ordered exactly 1 time"
        );
        assert_eq!(
            summary(windowed(
                Field::Orders,
                Operator::Never,
                "",
                Window::last_days(60)
            )),
            "has not ordered in the last 60 days"
        );
        let between = Window {
            kind: WindowKind::Between,
            from: "2026-01-01".into(),
            to: "2026-03-31".into(),
            ..Window::default()
        };
        assert_eq!(
            summary(windowed(Field::Spent, Operator::Gte, "200", between)),
            "spent at least 200 between 2026-01-01 and 2026-03-31"
        );
        assert_eq!(
            summary(Condition {
                min_quantity: "2".into(),
                ..windowed(
                    Field::BoughtSku,
                    Operator::Eq,
                    "MUG-BLUE",
                    Window::last_days(30)
                )
            }),
            "bought at least 2 of SKU “MUG-BLUE” in the last 30 days"
        );
        assert_eq!(
            summary(condition(
                Field::BoughtProduct,
                Operator::StartsWith,
                "Blue"
            )),
            "bought a product whose name starts with “Blue”"
        );
    }

    #[test]
    fn an_order_window_comes_and_goes_through_the_api() {
        let condition: Condition = serde_json::from_str(
            r#"{"field": "orders", "operator": "gte", "value": 2, "window": {"kind": "last_days", "days": 30}}"#,
        )
        .unwrap();
        assert_eq!(condition.window, Window::last_days(30));
        let stored = serde_json::to_value(&condition).unwrap();
        assert_eq!(stored["window"]["days"], "30");
        let plain = serde_json::to_value(Condition::new(Field::City)).unwrap();
        assert!(plain.get("window").is_none() && plain.get("min_quantity").is_none());
    }

    #[test]
    fn engagement_conditions_name_a_campaign_or_a_number_of_days() {
        assert_eq!(
            check_condition(&condition(
                Field::CampaignOpened,
                Operator::Eq,
                " November news "
            )),
            Ok(Criterion::Engaged(
                Engagement::Opened,
                Engaged::Campaign("November news".into())
            ))
        );
        assert_eq!(
            check_condition(&condition(Field::ClickedAny, Operator::WithinDays, "60")),
            Ok(Criterion::Engaged(
                Engagement::Clicked,
                Engaged::WithinDays(60)
            ))
        );
        assert_eq!(
            check_condition(&condition(Field::CampaignSent, Operator::Eq, "")),
            Err("Enter a value.".into())
        );
        assert!(check_condition(&condition(Field::OpenedAny, Operator::WithinDays, "0")).is_err());
        assert_eq!(
            condition(Field::CampaignOpened, Operator::Eq, "November news").summary(),
            "opened campaign “November news”"
        );
        assert_eq!(
            condition(Field::OpenedAny, Operator::WithinDays, "60").summary(),
            "opened any message in the last 60 days"
        );
    }

    #[test]
    fn every_field_and_operator_is_named_in_the_api_by_its_key() {
        for field in Field::ALL {
            assert_eq!(serde_json::to_value(field).unwrap(), field.key());
            assert_eq!(Field::from_key(field.key()), Some(field));
        }
        for operator in Operator::ALL {
            assert_eq!(serde_json::to_value(operator).unwrap(), operator.key());
        }
        for kind in WindowKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.key());
        }
    }
}
