//! Inventory: `PUT /inventory/{sku}` with `{"stock": N}` sets the stock of a SKU,
//! `GET /inventory/{sku}` answers `{"sku", "stock"}`; every `order.created.v1` event takes
//! the order's quantity out of stock.

use plughost_sdk::events::Event;
use plughost_sdk::http::{Request, Response, Router};
use plughost_sdk::orm::{self, Query, Repository};
use plughost_sdk::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Serialize, Deserialize)]
struct StockLevel {
    id: i64,
    sku: String,
    stock: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetStock {
    stock: i64,
}

/// The part of `order.created.v1` inventory needs.
#[derive(Deserialize)]
struct OrderCreated {
    sku: String,
    qty: i64,
}

struct Inventory;

impl plughost_sdk::Module for Inventory {
    fn routes(router: Router) -> Router {
        router.get("/{sku}", show).put("/{sku}", set)
    }

    fn on_event(event: Event) -> Result<()> {
        let order: OrderCreated = event.payload_as()?;
        // Read and write in one transaction, so concurrent orders never lose a decrement.
        orm::transaction(|| {
            let Some(level) = find(&order.sku)? else {
                plughost_sdk::log::warn(&format!("order for unknown SKU {}", order.sku));
                return Ok(());
            };
            levels().update(level.id, &json!({"stock": level.stock - order.qty}))?;
            Ok(())
        })
    }
}

fn levels() -> Repository<StockLevel> {
    Repository::new("stock_level")
}

fn find(sku: &str) -> Result<Option<StockLevel>> {
    levels().find_one(&Query::new().filter("sku", sku))
}

fn sku(request: &Request) -> String {
    request.param("sku").unwrap_or_default().to_string()
}

fn show(request: Request) -> Result<Response> {
    let sku = sku(&request);
    let level = find(&sku)?.ok_or_else(|| Error::NotFound(format!("no stock for SKU '{sku}'")))?;
    Ok(Response::json_value(
        &json!({"sku": level.sku, "stock": level.stock}),
    ))
}

fn set(request: Request) -> Result<Response> {
    let sku = sku(&request);
    let SetStock { stock } = request.json()?;
    if stock < 0 {
        return Err(Error::Invalid("stock must not be negative".into()));
    }
    orm::transaction(|| match find(&sku)? {
        Some(level) => levels()
            .update(level.id, &json!({"stock": stock}))
            .map(drop),
        None => levels()
            .create(&json!({"sku": sku, "stock": stock}))
            .map(drop),
    })?;
    Ok(Response::json_value(&json!({"sku": sku, "stock": stock})))
}

plughost_sdk::export_module!(Inventory);
