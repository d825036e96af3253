//! How figures read: amounts in the installation's currency (`REALM_CURRENCY`, e.g. `€1,777.45`) and counts with
//! thousands separators (`100,588`). The currency is set once at start on the server, and read from the page in the
//! browser before it hydrates, so both render the same text.

use std::sync::OnceLock;

/// A currency with two decimals, as amounts are stored in hundredths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Currency {
    code: &'static str,
    /// Written before the amount; currencies without a symbol of their own are written by code.
    symbol: Option<&'static str>,
}

impl Currency {
    pub const USD: Currency = Currency::new("USD", Some("$"));

    /// The currencies Realm can show: those written with two decimals.
    pub const ALL: [Currency; 12] = [
        Currency::USD,
        Currency::new("EUR", Some("€")),
        Currency::new("GBP", Some("£")),
        Currency::new("INR", Some("₹")),
        Currency::new("CAD", Some("CA$")),
        Currency::new("AUD", Some("A$")),
        Currency::new("NZD", Some("NZ$")),
        Currency::new("CHF", None),
        Currency::new("SEK", None),
        Currency::new("NOK", None),
        Currency::new("DKK", None),
        Currency::new("PLN", None),
    ];

    const fn new(code: &'static str, symbol: Option<&'static str>) -> Self {
        Currency { code, symbol }
    }

    pub fn code(self) -> &'static str {
        self.code
    }

    /// The currency of an ISO 4217 code, in any case.
    pub fn parse(code: &str) -> Option<Currency> {
        let code = code.trim();
        Currency::ALL
            .into_iter()
            .find(|currency| currency.code.eq_ignore_ascii_case(code))
    }

    /// The amount of `cents` hundredths, e.g. `€1,777.45`, `-€0.07`, `CHF 12.00`.
    pub fn format(self, cents: i64) -> String {
        let sign = if cents < 0 { "-" } else { "" };
        let cents = cents.unsigned_abs();
        let amount = format!("{}.{:02}", thousands(cents / 100), cents % 100);
        match self.symbol {
            Some(symbol) => format!("{sign}{symbol}{amount}"),
            None => format!("{sign}{} {amount}", self.code),
        }
    }
}

static CURRENT: OnceLock<Currency> = OnceLock::new();

/// Sets the currency every amount is shown in; the first call wins (once at start).
pub fn set_currency(currency: Currency) {
    let _ = CURRENT.set(currency);
}

/// The currency amounts are shown in: the one set at start, or US dollars.
pub fn currency() -> Currency {
    CURRENT.get().copied().unwrap_or(Currency::USD)
}

/// An amount of `cents` hundredths in the installation's currency.
pub fn money(cents: i64) -> String {
    currency().format(cents)
}

/// An amount of whole units in the installation's currency, e.g. `€1,200`: for chart axes, where cents are noise.
pub fn money_units(units: f64) -> String {
    let formatted = currency().format(units.round() as i64 * 100);
    formatted
        .strip_suffix(".00")
        .unwrap_or(&formatted)
        .to_owned()
}

/// A count with thousands separators: `100588` reads `100,588`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(100_588), "100,588");
        assert_eq!(thousands(12_345_678), "12,345,678");
    }

    #[test]
    fn amounts_carry_their_currency_and_two_decimals() {
        let euro = Currency::parse("eur").unwrap();
        assert_eq!(euro.format(177_745), "€1,777.45");
        assert_eq!(euro.format(-7), "-€0.07");
        assert_eq!(Currency::USD.format(100_000_000), "$1,000,000.00");
        assert_eq!(Currency::parse("CHF").unwrap().format(1_200), "CHF 12.00");
        assert_eq!(Currency::parse("JPY"), None);
        assert_eq!(
            money_units(1_200.4),
            format!("{}", Currency::USD.format(120_000)).replace(".00", "")
        );
    }
}
