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

#[tokio::test]
async fn an_index_no_query_needs_any_more_is_dropped_at_start() {
    let config = common::isolated_config();
    let mongo = Mongo::new(&config.mongodb_uri, &config.mongodb_database)
        .await
        .unwrap();
    let communications = mongo.collection(collections::COMMUNICATIONS);
    // As the first versions made it.
    communications
        .create_index(
            mongodb::IndexModel::builder()
                .keys(doc! { "claim": 1 })
                .options(
                    mongodb::options::IndexOptions::builder()
                        .name("claim".to_owned())
                        .build(),
                )
                .build(),
        )
        .await
        .unwrap();
    mongo.ensure_indexes().await.unwrap();
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
    let config = common::isolated_config();
    let mongo = Mongo::new(&config.mongodb_uri, &config.mongodb_database)
        .await
        .unwrap();
    let customers = mongo.collection(collections::CUSTOMERS);
    // As versions before it made it: one entry per customer, with or without orders.
    customers
        .create_index(
            mongodb::IndexModel::builder()
                .keys(doc! { "first_order_at": 1 })
                .options(
                    mongodb::options::IndexOptions::builder()
                        .name("first_order_at".to_owned())
                        .build(),
                )
                .build(),
        )
        .await
        .unwrap();
    mongo.ensure_indexes().await.expect("replaced at start");
    let names = customers.list_index_names().await.unwrap();
    assert!(!names.contains(&"first_order_at".to_owned()), "{names:?}");
    assert!(
        names.contains(&"first_order_at_sparse".to_owned()),
        "{names:?}"
    );

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
