//! Starts Realm's server, or runs one of its maintenance commands.

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> std::process::ExitCode {
    realm::server::run().await
}

#[cfg(not(feature = "ssr"))]
fn main() {
    // The browser build starts from `realm::hydrate`; this binary is only meaningful with the `ssr` feature.
}
