//! The open-runtimes conformance function: one behaviour per `x-action` request header, the
//! cases the public suite (`tests/Serverless.php`, `tests/Base.php`) exercises. Written from
//! the suite's expectations against the official `openruntimes` types, so it runs unchanged
//! on Appwrite's Rust runtime and under our shim. `library` needs the internet and is left out.

use openruntimes::{Context, Response};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

/// A 16×16 PNG the suite identifies by its MD5 (`2a8fdeea08e939e9a7c05653544a1374`).
const PNG_BASE64: &str = "iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAMAAAAoLQ9TAAAAAXNSR0IB2cksfwAAAAlwSFlzAAAsSwAALEsBpT2WqQAAAMlQTFRFAAAA/TZu/TZu/TZu/TZu/TZu/TZu/TZu/TZu/TZu/TZu/TZu/TZu/TZu/TZu/TZu/TZu/TZu/TZu/TZu/TZu/TZu/TZu/TZu/TZu/TZu/TZu/TZu/TZu/TZu/TZu+zZu/TZu/TZu/TZu/TZu/TZu/TZu/TZu/TZu/TZu/TZu/TZu/TZu/TZu/TZu/TZu/Tdt/TZv/TZu/TZu/TZu/TZu/TZu/TZu/TZu/TZv/TZv/TZu/TZu/TZu/TZu/TZu/TZu/Tdv/TZu/TZuuSxTMwAAAEN0Uk5TABN71PrYkxIu5P/jNyDf60XK3vkOWv11JiVsYazyawE8zInhtgd8bXTitQaw8WcBHMbPXP7pciMWIDLd1yIx5hWA/BXEE2wAAACqSURBVHicXY7PCwFxEMXfkxVKkVDbHrb2YMVBOZM/Xzk52AO1tYpNSdRGfhTzne8qvMM085mZ1yMAiky5wQxAWUZtmSmo8QkrhyeD63J5rxZ5ldvCAWzJoSNfPL+Axhb0jmiSCeCLE2MwSOFyraYdre0M3ko9u5c/EG4U9BL5Xpp2ECsQ04BcAEObjyNG6NvseV5/D1RC5mkl+niX4kuymXD+CzDlozT7gDdmIiQgwIp6VQAAAABJRU5ErkJggg==";

/// The multipart body whose boundary must survive the content-type rule.
const MULTIPART_BODY: &str = "--12345\r\nContent-Disposition: form-data; name=\"partOne\"\r\n\r\nWhy just have one part?\r\n--12345\r\nContent-Disposition: form-data; name=\"partTwo\"\r\n\r\nWhen you can have two!\r\n--12345--";

/// What `functionIdentity` answers.
pub const IDENTITY: &str = "job-manager runtime-conformance";

/// The entry point, with the official handler signature.
pub fn main(context: Context) -> Response {
    let action = context
        .req
        .headers
        .get("x-action")
        .cloned()
        .unwrap_or_default();
    match action.as_str() {
        "plaintextResponse" => context.res.text("Hello World 👋", None, None),
        // Not in the suite: lets `scripts/bench-runtime` check that another runtime binary
        // hosts this very function before comparing the two.
        "functionIdentity" => context.res.text(IDENTITY, None, None),
        "jsonResponse" => context.res.json(
            json!({ "json": true, "message": "Developers are awesome." }),
            None,
            None,
        ),
        "customCharsetResponse" => text_with_type(&context, "ÅÆ", "text/plain; charset=iso-8859-1"),
        "uppercaseCharsetResponse" => text_with_type(&context, "ÅÆ", "TEXT/PLAIN"),
        "multipartResponse" => text_with_type(
            &context,
            MULTIPART_BODY,
            "multipart/form-data; boundary=12345",
        ),
        "redirectResponse" => context.res.redirect("https://github.com/", Some(301), None),
        "emptyResponse" => context.res.empty(),
        "noResponse" => {
            // Rust cannot forget to return; mimic the other runtimes' "no response" outcome.
            let _ignored = context
                .res
                .text("This response is never returned.", None, None);
            context.error(
                "Return statement missing. return context.res.empty() if no response is expected.",
            );
            context.res.text("", Some(500), None)
        }
        "doubleResponse" => {
            let _first = context.res.text("This should be ignored.", None, None);
            context.res.text("This should be returned.", None, None)
        }
        "enforcedHeaders" => {
            let header = |name: &str| context.req.headers.get(name).cloned();
            context.res.json(
                json!({
                    "x-custom": header("x-custom"),
                    "x-custom-uppercase": header("x-custom-uppercase"),
                    "x-open-runtimes-custom": header("x-open-runtimes-custom"),
                }),
                None,
                None,
            )
        }
        "headersResponse" => headers_response(&context),
        "statusResponse" => context.res.text("FAIL", Some(404), None),
        "requestMethod" => context.res.text(context.req.method.clone(), None, None),
        "requestUrl" => context.res.json(
            json!({
                "url": context.req.url,
                "port": context.req.port,
                "path": context.req.path,
                "query": context.req.query,
                "queryString": context.req.query_string,
                "scheme": context.req.scheme,
                "host": context.req.host,
            }),
            None,
            None,
        ),
        "requestHeaders" => context.res.json(&context.req.headers, None, None),
        "requestBodyText" | "requestBodyTextAuto" => {
            context.res.text(context.req.body_text(), None, None)
        }
        "requestBodyJson" => request_body_json(context),
        "requestBodyJsonAuto" => {
            let mut request = context.req.clone();
            context.res.json(request.body(), None, None)
        }
        "requestBodyBinary" => context.res.binary(context.req.body_binary(), None, None),
        "binaryResponse1" => context.res.binary(vec![0, 10, 255], None, None),
        "binaryResponse2" => context.res.binary(vec![0, 20, 255], None, None),
        "binaryResponse3" => context.res.binary(vec![0, 30, 255], None, None),
        "binaryResponse4" => context.res.binary(vec![0, 40, 255], None, None),
        "binaryResponse5" => context.res.binary(vec![0, 50, 255], None, None),
        "envVars" => context.res.json(
            json!({
                "var": std::env::var("CUSTOM_ENV_VAR").unwrap_or_default(),
                "emptyVar": std::env::var("NOT_DEFINED_VAR").ok(),
            }),
            None,
            None,
        ),
        "logs" => logs(&context),
        "timeout" => {
            context.log("Timeout start.");
            // Lets a process-level test see that the request reached the handler (log files are
            // only written when a request ends). Not part of the public suite's function.
            if let Some(dir) = std::env::var_os("CONFORMANCE_SIGNAL_DIR") {
                let _ = std::fs::write(std::path::Path::new(&dir).join("timeout-started"), b"");
            }
            std::thread::sleep(Duration::from_secs(3));
            context.log("Timeout end.");
            context.res.text("Successful response.", None, None)
        }
        "deprecatedMethods" => {
            #[allow(deprecated)]
            let body = context.req.body_raw();
            #[allow(deprecated)]
            context
                .res
                .send(String::from_utf8_lossy(&body).into_owned())
        }
        #[allow(deprecated)]
        "deprecatedMethodsUntypedBody" => context.res.send("50"),
        "deprecatedMethodsBytesBody" => png_response(&context),
        "binaryResponseLarge" => {
            let digest = md5::compute(context.req.body_binary());
            let mut headers = HashMap::new();
            headers.insert("x-method".to_owned(), context.req.method.clone());
            context.res.text(format!("{digest:x}"), None, Some(headers))
        }
        "spreadOperatorLogs" => {
            let parts = || vec!["engine:".to_owned(), "open-runtimes".to_owned()];
            context.log_multiple(parts());
            context.error_multiple(parts());
            context.res.text("OK", None, None)
        }
        "setCookie" | "setCookie2" => {
            if action == "setCookie" {
                context.log("setCookie: building two cookies");
            }
            let mut headers = HashMap::new();
            headers.insert(
                "set-cookie".to_owned(),
                "cookie=value; path=/\ncookie2=value2; path=/".to_owned(),
            );
            headers.insert("some-header".to_owned(), "some-value".to_owned());
            context.res.text("OK", Some(200), Some(headers))
        }
        "errorTest" => {
            context.log("Before error...");
            panic!("Error!");
        }
        // Not part of the public suite: prints far more than a pipe buffer holds in one call.
        "nativeFlood" => {
            let line = "x".repeat(1023);
            for _ in 0..256 {
                println!("{line}");
            }
            eprintln!("flood done");
            context.res.text("flooded", None, None)
        }
        _ => {
            // The suite looks for the entrypoint's file name in this error.
            context.error("Unknown action in lib.rs");
            context.res.text("", Some(500), None)
        }
    }
}

fn text_with_type(context: &Context, body: &str, content_type: &str) -> Response {
    let mut headers = HashMap::new();
    headers.insert("content-type".to_owned(), content_type.to_owned());
    context.res.text(body, None, Some(headers))
}

fn headers_response(context: &Context) -> Response {
    let echoed = |name: &str| {
        context
            .req
            .headers
            .get(name)
            .cloned()
            .unwrap_or_else(|| "missing".to_owned())
    };
    let mut headers = HashMap::new();
    headers.insert("first-header".to_owned(), "first-value".to_owned());
    // Reserved headers never reach the handler, so this is always "missing".
    headers.insert(
        "second-header".to_owned(),
        echoed("x-open-runtimes-custom-in-header"),
    );
    headers.insert("cookie".to_owned(), echoed("cookie"));
    // Reserved headers never reach the caller either.
    headers.insert(
        "x-open-runtimes-custom-out-header".to_owned(),
        "third-value".to_owned(),
    );
    context.res.text("OK", None, Some(headers))
}

fn request_body_json(context: Context) -> Response {
    let mut request = context.req.clone();
    if request.body_binary().is_empty() {
        context.error("Cannot parse JSON body: it is empty");
        return context.res.text("", Some(500), None);
    }
    match request.body_json::<Value>() {
        Ok(value) => context.res.json(value, None, None),
        Err(e) => {
            context.error(format!("Cannot parse JSON body: {e}"));
            context.res.text("", Some(500), None)
        }
    }
}

fn logs(context: &Context) -> Response {
    println!("Native log");
    context.log("Debug log");
    context.error("Error log");
    context.log("Log+With+Plus+Symbol");
    context.log(42);
    context.log(4.2);
    context.log(true);
    context.log(json!({ "objectKey": "objectValue" }));
    context.log(vec!["arrayValue"]);
    context.log("A".repeat(9000));
    context.error("B".repeat(9000));
    context.res.text("", None, None)
}

fn png_response(context: &Context) -> Response {
    use base64::Engine as _;
    match base64::engine::general_purpose::STANDARD.decode(PNG_BASE64) {
        Ok(image) => Response {
            status_code: 200,
            body: image,
            headers: HashMap::from([("content-type".to_owned(), "image/png".to_owned())]),
        },
        Err(e) => {
            context.error(format!("Embedded image is not valid base64: {e}"));
            context.res.text("", Some(500), None)
        }
    }
}
