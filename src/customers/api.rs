//! The customer server functions the pages call: the list, one customer, their orders, tags and consent, and
//! imports.

use leptos::prelude::*;
use serde_json::Value;

#[cfg(feature = "ssr")]
use crate::customers::model::{parse_customer_list, parse_tags, CustomerSort};
use crate::{
    campaigns::model::Channel,
    customers::model::{Consent, CustomerDetail, CustomerPage, ImportOutcome},
    shared::error::AppError,
};

#[server]
pub async fn list_customers(
    search: Option<String>,
    tag: Option<String>,
    segment: Option<String>,
    sort: Option<String>,
    after: Option<String>,
    before: Option<String>,
) -> Result<CustomerPage, AppError> {
    use crate::{
        auth::server::guard::require_user, customers::server::Customers, server::state::AppState,
    };
    require_user().await?;
    let state = expect_context::<AppState>();
    let query = crate::customers::server::ListQuery {
        search: search.unwrap_or_default(),
        tag: tag.unwrap_or_default(),
        segment: segment.unwrap_or_default(),
        sort: CustomerSort::parse(sort.as_deref().unwrap_or_default()),
    };
    Customers::new(&state.mongo)
        .page(&query, after.as_deref(), before.as_deref(), 25)
        .await
}

#[server]
pub async fn fetch_customer(id: String) -> Result<CustomerDetail, AppError> {
    use crate::{
        auth::server::guard::require_user, customers::server::Customers, server::state::AppState,
    };
    require_user().await?;
    Customers::new(&expect_context::<AppState>().mongo)
        .detail(&id)
        .await
}

/// The customer's latest orders, newest first.
#[server]
pub async fn recent_customer_orders(
    id: String,
) -> Result<crate::orders::model::OrderPage, AppError> {
    use crate::{
        auth::server::guard::require_user, orders::server::history, server::mongo::parse_id,
        server::state::AppState,
    };
    require_user().await?;
    let filter = history::OrderFilter::for_customer(parse_id(&id, "customer")?);
    history::page(
        &expect_context::<AppState>().mongo,
        filter,
        None,
        None,
        None,
        25,
    )
    .await
}

#[server]
pub async fn set_customer_tags(id: String, tags: String) -> Result<Vec<String>, AppError> {
    use crate::{
        auth::server::guard::require_user, customers::server::Customers, server::state::AppState,
    };
    require_user().await?;
    let tags = parse_tags(&tags)?;
    Customers::new(&expect_context::<AppState>().mongo)
        .set_tags(&id, tags)
        .await
}

/// Records a customer's consent for a channel, as the customer told the team; the record says who changed it.
#[server]
pub async fn set_customer_consent(
    id: String,
    channel: Channel,
    state: Consent,
) -> Result<Consent, AppError> {
    use crate::{
        auth::server::guard::require_user, customers::server::Customers, server::mongo::parse_id,
        server::state::AppState,
    };
    let user = require_user().await?;
    let customer = parse_id(&id, "customer")?;
    let via = format!("changed by {}", user.email);
    let found = Customers::new(&expect_context::<AppState>().mongo)
        .set_consent(customer, channel, state, &via)
        .await?;
    if !found {
        return Err(AppError::NotFound(format!(
            "No customer has the id {id:?}."
        )));
    }
    Ok(state)
}

#[server(input = leptos::server_fn::codec::Json)]
pub async fn import_customers(rows: Vec<Value>) -> Result<ImportOutcome, AppError> {
    use crate::{
        auth::server::guard::require_user, customers::server::Customers, server::state::AppState,
    };
    require_user().await?;
    let customers = parse_customer_list(&rows)?;
    Customers::new(&expect_context::<AppState>().mongo)
        .import(&customers)
        .await
}
