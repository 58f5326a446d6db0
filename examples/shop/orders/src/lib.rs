//! Orders: `POST /orders` with `{"sku", "qty", "email"}` stores the order, emits
//! `order.created.v1` (delivered only if the order was stored) and answers it with its
//! `id`; `GET /orders/{id}` reads one back.

use plughost_sdk::http::{Request, Response, Router};
use plughost_sdk::orm::{self, Repository};
use plughost_sdk::{Error, Result, events};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Order {
    id: i64,
    sku: String,
    qty: i64,
    email: String,
    created_at: String,
    updated_at: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewOrder {
    sku: String,
    qty: i64,
    email: String,
}

struct Orders;

impl plughost_sdk::Module for Orders {
    fn routes(router: Router) -> Router {
        router.post("/", create).get("/{id}", show)
    }
}

fn orders() -> Repository<Order> {
    Repository::new("order")
}

fn create(request: Request) -> Result<Response> {
    let new: NewOrder = request.json()?;
    if new.qty <= 0 || new.sku.trim().is_empty() || !new.email.contains('@') {
        return Err(Error::Invalid(
            "an order needs a sku, a positive qty and an email address".into(),
        ));
    }
    let order = orm::transaction(|| {
        let order = orders().create(&new)?;
        events::emit(
            "order.created.v1",
            &serde_json::json!({"id": order.id, "sku": order.sku, "qty": order.qty, "email": order.email}),
        )?;
        Ok(order)
    })?;
    Ok(Response::json_value(&order).with_status(201))
}

fn show(request: Request) -> Result<Response> {
    let raw = request.param("id").unwrap_or_default();
    let id: i64 = raw
        .parse()
        .map_err(|_| Error::NotFound(format!("no order '{raw}'")))?;
    let order = orders()
        .find_by_id(id)?
        .ok_or_else(|| Error::NotFound(format!("no order {id}")))?;
    Ok(Response::json_value(&order))
}

plughost_sdk::export_module!(Orders);
