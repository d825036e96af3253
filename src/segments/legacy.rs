//! The original app's segment shape, `{name, conditions: [{field, operator, value}], logicOperator}`, translated
//! into a rule, so that its clients keep working.

use serde::Deserialize;
use serde_json::Value;

use super::rules::{Combinator, Condition, Field, Operator, Rule, RuleGroup};
use crate::shared::{error::AppError, import::text};

#[derive(Clone, Debug, Deserialize)]
pub struct LegacyCondition {
    pub field: String,
    pub operator: String,
    #[serde(default)]
    pub value: Value,
}

/// The original app's fields: `visits` is the order count, `lastVisited` the last order's date.
fn legacy_field(name: &str) -> Option<Field> {
    match name {
        "totalSpending" => Some(Field::TotalSpend),
        "visits" => Some(Field::OrderCount),
        "lastVisited" => Some(Field::LastOrderAt),
        _ => None,
    }
}

/// Translates the conditions; an unknown field, operator or logic operator is refused, naming it.
pub fn translate(
    conditions: &[LegacyCondition],
    logic_operator: Option<&str>,
) -> Result<RuleGroup, AppError> {
    let combinator = match logic_operator.map(str::to_uppercase).as_deref() {
        None | Some("AND") => Combinator::All,
        Some("OR") => Combinator::Any,
        Some(other) => {
            return Err(AppError::invalid(
                "logicOperator",
                format!("logicOperator: unknown value {other:?}; use \"AND\" or \"OR\""),
            ))
        }
    };
    let mut rules = Vec::with_capacity(conditions.len());
    for (index, condition) in conditions.iter().enumerate() {
        let at = |part: &str| format!("conditions[{index}].{part}");
        let field = legacy_field(&condition.field).ok_or_else(|| {
            AppError::invalid(
                &at("field"),
                format!(
                    "{}: unknown field {:?}; use totalSpending, visits or lastVisited",
                    at("field"),
                    condition.field
                ),
            )
        })?;
        let value = text(&condition.value).unwrap_or_default();
        let is_date = field == Field::LastOrderAt;
        let (operator, negated) = match (condition.operator.as_str(), is_date) {
            (">", false) => (Operator::Gt, false),
            (">=", false) => (Operator::Gte, false),
            ("<", false) => (Operator::Lt, false),
            ("<=", false) => (Operator::Lte, false),
            ("==" | "=", false) => (Operator::Eq, false),
            ("!=", false) => (Operator::Ne, false),
            (">", true) => (Operator::After, false),
            (">=", true) => (Operator::OnOrAfter, false),
            ("<", true) => (Operator::Before, false),
            ("<=", true) => (Operator::OnOrBefore, false),
            ("==" | "=", true) => (Operator::On, false),
            ("!=", true) => (Operator::On, true),
            (other, _) => {
                return Err(AppError::invalid(
                    &at("operator"),
                    format!(
                        "{}: unknown operator {other:?}; use >, <, >=, <=, == or !=",
                        at("operator")
                    ),
                ))
            }
        };
        let condition = Rule::Condition(Condition {
            operator,
            value,
            ..Condition::new(field)
        });
        rules.push(if negated {
            Rule::Group(RuleGroup {
                combinator: Combinator::All,
                negated: true,
                rules: vec![condition],
            })
        } else {
            condition
        });
    }
    Ok(RuleGroup {
        combinator,
        negated: false,
        rules,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segments::rules::{check_rule, CheckedRule, Criterion, NumberTest};
    use serde_json::json;

    fn conditions(value: Value) -> Vec<LegacyCondition> {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn the_original_fields_and_operators_translate() {
        let rule = translate(
            &conditions(json!([
                {"field": "totalSpending", "operator": ">", "value": 10000},
                {"field": "visits", "operator": "<=", "value": "3"},
                {"field": "lastVisited", "operator": "!=", "value": "2026-01-01"},
            ])),
            Some("OR"),
        )
        .unwrap();
        assert_eq!(rule.combinator, Combinator::Any);
        let checked = check_rule(&rule).unwrap();
        assert_eq!(
            checked.parts[0],
            CheckedRule::Criterion(Criterion::Number(
                Field::TotalSpend,
                NumberTest::Gt(1_000_000)
            ))
        );
        assert_eq!(
            checked.parts[1],
            CheckedRule::Criterion(Criterion::Number(Field::OrderCount, NumberTest::Lte(3)))
        );
        assert!(matches!(&checked.parts[2], CheckedRule::Group(group) if group.negated));
    }

    #[test]
    fn unknown_names_are_refused_by_name() {
        let unknown_field = translate(
            &conditions(json!([{"field": "age", "operator": ">", "value": 3}])),
            None,
        )
        .unwrap_err();
        assert_eq!(
            unknown_field.for_field("conditions[0].field").is_some(),
            true
        );
        assert!(unknown_field.to_string().contains("\"age\""));
        let unknown_operator = translate(
            &conditions(json!([{"field": "visits", "operator": "~", "value": 3}])),
            Some("AND"),
        )
        .unwrap_err();
        assert!(unknown_operator.to_string().contains("\"~\""));
        assert!(translate(&[], Some("XOR"))
            .unwrap_err()
            .for_field("logicOperator")
            .is_some());
    }
}
