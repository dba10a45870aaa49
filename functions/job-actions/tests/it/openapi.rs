//! `docs/openapi.yaml` and the route table agree both ways: every implemented route is
//! documented with its operation id and error responses, every documented route exists, and
//! the list and export parameters are exactly those the parser accepts.

use std::collections::BTreeSet;

use job_actions::query::FILTER_KEYS;
use job_actions::routes::{all_routes, Op};
use serde_norway::Value;

fn document() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.yaml");
    let text = std::fs::read_to_string(path).expect("docs/openapi.yaml exists");
    serde_norway::from_str(&text).expect("docs/openapi.yaml is YAML")
}

fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_mapping().expect("paths") {
        for (method, _) in item.as_mapping().unwrap() {
            let method = method.as_str().unwrap();
            if ["get", "post", "put", "patch", "delete"].contains(&method) {
                out.insert((method.to_uppercase(), path.as_str().unwrap().to_owned()));
            }
        }
    }
    out
}

/// Parameter names of an operation, with `$ref`s to `components/parameters` resolved.
fn parameter_names(doc: &Value, op: &Value) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for p in op["parameters"].as_sequence().into_iter().flatten() {
        let p = match p.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let name = r.rsplit('/').next().unwrap();
                &doc["components"]["parameters"][name]
            }
            None => p,
        };
        if p["in"] == "query" {
            names.insert(p["name"].as_str().unwrap().to_owned());
        }
    }
    names
}

#[test]
fn the_openapi_document_and_the_route_table_agree_both_ways() {
    let doc = document();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let documented = operations(&doc);
    let implemented: BTreeSet<(String, String)> = all_routes()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    assert_eq!(documented, implemented);

    for route in all_routes() {
        let op = &doc["paths"][route.path][route.method.to_lowercase().as_str()];
        assert_eq!(
            op["operationId"].as_str(),
            Some(route.operation_id),
            "{} {}",
            route.method,
            route.path
        );
        let responses: BTreeSet<String> = op["responses"]
            .as_mapping()
            .unwrap()
            .keys()
            .map(|k| match k {
                Value::Number(n) => n.to_string(),
                other => other.as_str().unwrap().to_owned(),
            })
            .collect();
        let mut expected = vec!["401", "403"];
        expected.push(match route.op {
            Op::Retry => "201",
            Op::ScheduleRun => "202",
            _ => "200",
        });
        if route.path.contains("{id}") {
            expected.push("404");
        }
        if matches!(route.op, Op::List | Op::Export) || route.op.is_action() {
            expected.push("400");
        }
        // A batch answers each job's refusal inside its 200, never as the call's status.
        if route.op.is_action() && route.op != Op::Batch && !route.op.is_schedule_action() {
            expected.push("409");
        }
        for code in expected {
            assert!(
                responses.contains(code),
                "{} {} does not document {code}",
                route.method,
                route.path
            );
        }

        let params = parameter_names(&doc, op);
        let want: BTreeSet<String> = match route.op {
            Op::List => FILTER_KEYS.iter().map(|k| k.to_string()).collect(),
            Op::Export => FILTER_KEYS
                .iter()
                .chain(&["format"])
                .map(|k| k.to_string())
                .collect(),
            _ => BTreeSet::new(),
        };
        assert_eq!(
            params, want,
            "query parameters of {} {}",
            route.method, route.path
        );
    }
}
