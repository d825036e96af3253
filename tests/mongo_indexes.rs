mod common;

use futures::StreamExt;
use mongodb::bson::doc;
use realm::server::mongo::{collections, Mongo};

#[tokio::test]
async fn ensure_indexes_is_idempotent_and_enforces_unique_keys() {
    let config = common::isolated_config();
    let mongo = Mongo::new(&config.mongodb_uri, &config.mongodb_database)
        .await
        .unwrap();

    mongo.ensure_indexes().await.expect("first run");
    mongo
        .ensure_indexes()
        .await
        .expect("second run changes nothing");

    let customer_indexes = mongo
        .collection(collections::CUSTOMERS)
        .list_index_names()
        .await
        .unwrap();
    assert!(
        customer_indexes.contains(&"email_unique".to_owned()),
        "{customer_indexes:?}"
    );
    let order_indexes = mongo
        .collection(collections::ORDERS)
        .list_index_names()
        .await
        .unwrap();
    assert!(
        order_indexes.contains(&"order_id_unique".to_owned()),
        "{order_indexes:?}"
    );

    let customers = mongo.collection(collections::CUSTOMERS);
    customers
        .insert_one(doc! { "email": "ada@example.com", "name": "Ada" })
        .await
        .unwrap();
    let duplicate = customers
        .insert_one(doc! { "email": "ada@example.com", "name": "Ada again" })
        .await;
    assert!(
        duplicate.is_err(),
        "a second customer with the same email was stored"
    );
    assert_eq!(customers.count_documents(doc! {}).await.unwrap(), 1);

    common::drop_database(&config).await;
}

/// A database where an earlier version made the index `name` on `keys` of `collection` (a name, no options), and
/// the app has started since.
async fn started_after_an_earlier_index(
    collection: &str,
    keys: mongodb::bson::Document,
    name: &str,
) -> (realm::server::config::Config, Mongo) {
    let config = common::isolated_config();
    let mongo = Mongo::new(&config.mongodb_uri, &config.mongodb_database)
        .await
        .unwrap();
    let earlier = mongodb::IndexModel::builder()
        .keys(keys)
        .options(
            mongodb::options::IndexOptions::builder()
                .name(name.to_owned())
                .build(),
        )
        .build();
    mongo
        .collection(collection)
        .create_index(earlier)
        .await
        .unwrap();
    mongo.ensure_indexes().await.expect("started");
    (config, mongo)
}

/// A database where an earlier version made the index `name` on `keys` of the customers, once the app has started
/// and put `replacement` in its place.
async fn customers_after_replacing(
    keys: mongodb::bson::Document,
    name: &str,
    replacement: &str,
) -> (realm::server::config::Config, Mongo) {
    let (config, mongo) = started_after_an_earlier_index(collections::CUSTOMERS, keys, name).await;
    let names = mongo
        .collection(collections::CUSTOMERS)
        .list_index_names()
        .await
        .unwrap();
    assert!(!names.contains(&name.to_owned()), "{names:?}");
    assert!(names.contains(&replacement.to_owned()), "{names:?}");
    (config, mongo)
}

#[tokio::test]
async fn an_index_no_query_needs_any_more_is_dropped_at_start() {
    let (config, mongo) =
        started_after_an_earlier_index(collections::COMMUNICATIONS, doc! { "claim": 1 }, "claim")
            .await;
    let communications = mongo.collection(collections::COMMUNICATIONS);
    mongo
        .ensure_indexes()
        .await
        .expect("a second start finds it gone");
    let names = communications.list_index_names().await.unwrap();
    assert!(!names.contains(&"claim".to_owned()), "{names:?}");
    assert!(names.contains(&"campaign_status".to_owned()), "{names:?}");
    common::drop_database(&config).await;
}

#[tokio::test]
async fn the_first_order_index_replaces_the_one_every_customer_had_and_holds_only_customers_with_orders(
) {
    // As versions before it made it: one entry per customer, with or without orders.
    let (config, mongo) = customers_after_replacing(
        doc! { "first_order_at": 1 },
        "first_order_at",
        "first_order_at_sparse",
    )
    .await;
    let customers = mongo.collection(collections::CUSTOMERS);

    let now = mongodb::bson::DateTime::now();
    customers
        .insert_many([
            doc! { "email": "imported@example.com" },
            doc! { "email": "buyer@example.com", "first_order_at": now },
        ])
        .await
        .unwrap();
    // Read through the index alone, only the customer with an order is there.
    let through_index: Vec<String> = customers
        .find(doc! {})
        .hint(mongodb::options::Hint::Name(
            "first_order_at_sparse".to_owned(),
        ))
        .await
        .unwrap()
        .map(|customer| customer.unwrap().get_str("email").unwrap().to_owned())
        .collect()
        .await;
    assert_eq!(through_index, ["buyer@example.com"]);
    // A condition on its absence still finds the customer without orders.
    assert_eq!(
        customers
            .count_documents(doc! { "first_order_at": null })
            .await
            .unwrap(),
        1
    );
    common::drop_database(&config).await;
}

#[tokio::test]
async fn the_sample_index_replaces_the_one_every_customer_had_and_holds_only_the_lowest_keys() {
    use realm::customers::server::sampling::{INDEXED_KEYS, SAMPLE_INDEX};
    // As versions before it made it: one entry per customer.
    let (config, mongo) =
        customers_after_replacing(doc! { "sample_key": 1 }, "sample_key", SAMPLE_INDEX).await;
    let customers = mongo.collection(collections::CUSTOMERS);

    let keys = [0, INDEXED_KEYS - 1, INDEXED_KEYS, 9_999];
    customers
        .insert_many(
            keys.map(|key| doc! { "email": format!("key{key}@example.com"), "sample_key": key }),
        )
        .await
        .unwrap();
    // Read through the index alone, only the customers a sample of a large database reads are there.
    let mut through_index: Vec<i32> = customers
        .find(doc! {})
        .hint(mongodb::options::Hint::Name(SAMPLE_INDEX.to_owned()))
        .await
        .unwrap()
        .map(|customer| customer.unwrap().get_i32("sample_key").unwrap())
        .collect()
        .await;
    through_index.sort();
    assert_eq!(through_index, [0, INDEXED_KEYS - 1]);
    // The larger sample of a smaller database still finds everyone in it.
    assert_eq!(
        customers
            .count_documents(doc! { "sample_key": { "$lt": INDEXED_KEYS + 1 } })
            .await
            .unwrap(),
        3
    );
    common::drop_database(&config).await;
}
