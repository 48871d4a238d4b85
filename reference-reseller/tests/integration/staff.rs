//! The driver token (issue 11, finding 8): with `driver_token` set, the machine and shop
//! drivers and the shop's staff actions need it; what customers and Glase call does not.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::World;

const TOKEN: &str = "driver-s3cret";

#[tokio::test]
async fn with_a_driver_token_the_drivers_and_staff_actions_need_it() {
    let world = World::start("staff-token", &[], |config| config.driver_token = Some(TOKEN.to_owned())).await;
    let url = |path: &str| format!("{}{path}", world.reseller_url);
    let http = &world.http;
    // No token, a wrong one: 401 with a Basic challenge (a browser's login prompt).
    for request in [
        http.get(url("/driver/machines")),
        http.post(url("/driver/machines/machine-1/out-of-service")),
        http.post(url("/driver/shop/close")),
        http.post(url("/shop/close")),
        http.post(url("/shop/orders/W1/refund")).json(&json!({})),
        http.get(url("/driver/machines")).bearer_auth("wrong"),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{}", response.url());
        assert!(response.headers()["www-authenticate"].to_str().unwrap().starts_with("Basic"));
    }
    let machine = http.get(url("/driver/machines/machine-1")).send().await.unwrap();
    assert_eq!(machine.status(), StatusCode::UNAUTHORIZED);
    // The machine was not taken out of service by the refused call.
    let machine = http.get(url("/driver/machines/machine-1")).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(machine.status(), StatusCode::OK);
    let machine: serde_json::Value = machine.json().await.unwrap();
    assert_eq!(machine["state"], "idle", "{machine}");
    // A browser's Basic credentials (any user name) work too.
    let basic = http.get(url("/driver/machines")).basic_auth("staff", Some(TOKEN)).send().await.unwrap();
    assert_eq!(basic.status(), StatusCode::OK);
    // What customers and Glase call stays open.
    for path in ["/shop", "/healthz"] {
        assert_eq!(http.get(url(path)).send().await.unwrap().status(), StatusCode::OK, "{path}");
    }
    let checkout = http
        .post(url("/driver/shop/checkout"))
        .bearer_auth(TOKEN)
        .json(&json!({"items": [{"sku": "headphones", "quantity": 1}]}));
    let order: serde_json::Value = checkout.send().await.unwrap().json().await.unwrap();
    let id = order["orderId"].as_str().unwrap();
    let status = http.get(url(&format!("/shop/orders/{id}/status"))).send().await.unwrap();
    assert_eq!(status.status(), StatusCode::OK, "the customer's page polls without a token");
}

#[tokio::test]
async fn without_a_driver_token_the_drivers_stay_open_for_test_builds() {
    let world = World::start("staff-open", &[], |_| {}).await;
    let response = world.http.get(format!("{}/driver/machines", world.reseller_url)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}
