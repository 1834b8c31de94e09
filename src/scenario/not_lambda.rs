//! `[not_lambda]`: switches that leave Lambda's rules on purpose, for experiments. Lambda fixes these rules; a
//! scenario that changes one says so in this table, and every report of its runs names each switch it set.

use toml::Spanned;

use super::ScenarioError;
use super::error::Source;
use super::raw::RawNotLambda;
use super::values::int_in;

/// The switches set in `[not_lambda]`; `Default` is Lambda.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotLambda {
    /// Concurrency kept for functions without reserved concurrency, in place of Lambda's min(100, limit).
    pub unreserved_minimum: Option<u32>,
    /// `request_rate_limit = false`: synchronous requests are limited by concurrency alone, not also by Lambda's
    /// 10 requests per second per execution environment.
    pub no_request_rate_limit: bool,
}

impl NotLambda {
    /// One line per switch set, as reports print them (empty on Lambda's rules).
    pub fn describe(&self, concurrency_limit: u32) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(m) = self.unreserved_minimum {
            lines.push(format!(
                "unreserved_minimum = {m} (Lambda keeps {})",
                super::defaults::lambda_unreserved_minimum(concurrency_limit)
            ));
        }
        if self.no_request_rate_limit {
            lines.push(format!(
                "request_rate_limit = false (Lambda limits synchronous requests to {} per second per execution \
                 environment)",
                super::defaults::REQUESTS_PER_ENVIRONMENT
            ));
        }
        lines
    }

    /// The request-rate limit the model applies: Lambda's, unless lifted.
    pub fn requests_per_environment(&self) -> Option<u32> {
        (!self.no_request_rate_limit).then_some(super::defaults::REQUESTS_PER_ENVIRONMENT)
    }
}

/// Reads `[not_lambda]`; `concurrency_limit` bounds `unreserved_minimum`.
pub(super) fn not_lambda(
    src: &Source,
    raw: Option<&Spanned<RawNotLambda>>,
    concurrency_limit: u32,
) -> Result<NotLambda, ScenarioError> {
    let Some(raw) = raw.map(Spanned::get_ref) else {
        return Ok(NotLambda::default());
    };
    let unreserved_minimum = raw
        .unreserved_minimum
        .as_ref()
        .map(|v| {
            int_in(
                src,
                v,
                "not_lambda: unreserved_minimum",
                0,
                i64::from(concurrency_limit),
                "(0 to the account's concurrency_limit)",
            )
            .map(|x| x as u32)
        })
        .transpose()?;
    let no_request_rate_limit = raw
        .request_rate_limit
        .as_ref()
        .is_some_and(|v| !*v.get_ref());
    Ok(NotLambda {
        unreserved_minimum,
        no_request_rate_limit,
    })
}
