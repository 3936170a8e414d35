//! `GET /v1/openapi.json`: the OpenAPI 3.0 document of this API, written by
//! hand in `openapi.json` next to this file and served as it is. It sits
//! behind the token like every `/v1` route (tools such as schemathesis send
//! the same `Authorization` header when they load it).

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// The document.
pub(crate) const OPENAPI_JSON: &str = include_str!("openapi.json");

pub(crate) async fn document() -> Response {
    let mut response = OPENAPI_JSON.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::ROUTES;

    #[test]
    fn document_lists_exactly_the_routes_of_the_router() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI_JSON).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.0"));
        let paths = doc["paths"].as_object().unwrap();
        let mut documented: Vec<(String, String)> = paths
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .unwrap()
                    .keys()
                    .filter(|key| key.as_str() != "parameters")
                    .map(move |method| (method.to_uppercase(), path.clone()))
            })
            .collect();
        let mut routed: Vec<(String, String)> = ROUTES
            .iter()
            .map(|(method, path)| ((*method).to_owned(), (*path).to_owned()))
            .collect();
        documented.sort();
        routed.sort();
        assert_eq!(documented, routed);
    }

    #[test]
    fn every_operation_but_healthz_requires_the_token() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI_JSON).unwrap();
        assert_eq!(doc["security"][0]["bearerToken"], serde_json::json!([]));
        assert_eq!(
            doc["paths"]["/healthz"]["get"]["security"],
            serde_json::json!([])
        );
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                if path != "/healthz" {
                    assert!(
                        op.get("security").is_none(),
                        "{method} {path} overrides security"
                    );
                    assert!(
                        op["responses"].get("401").is_some(),
                        "{method} {path} lacks 401"
                    );
                }
            }
        }
    }
}
