//! `spoor track`: one event, its properties typed from the command line.

use spoor::Value;

/// Reads `KEY=VALUE`: the value an integer, a float, `true` or `false` when it reads as one,
/// else a string; in double quotes, always a string (`plan='"42"'`). The key is checked when
/// the event is built, with spoor-event's message.
///
/// ```
/// use spoor::Value;
/// use spoor_cli::track::property;
///
/// assert_eq!(property("seats=3"), Ok(("seats".into(), Value::Int(3))));
/// assert_eq!(property("price=9.5"), Ok(("price".into(), Value::Float(9.5))));
/// assert_eq!(property("trial=true"), Ok(("trial".into(), Value::Bool(true))));
/// assert_eq!(property("plan=pro"), Ok(("plan".into(), Value::from("pro"))));
/// assert_eq!(property(r#"code="42""#), Ok(("code".into(), Value::from("42"))));
/// assert_eq!(property("note=a=b"), Ok(("note".into(), Value::from("a=b"))));
/// assert!(property("plan").is_err());
/// ```
///
/// # Errors
///
/// A message for text without `=`.
pub fn property(text: &str) -> Result<(String, Value), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not KEY=VALUE (like plan=pro or seats=3)"))?;
    Ok((key.to_owned(), typed(value)))
}

/// A value as typed on a command line.
fn typed(text: &str) -> Value {
    if let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        return Value::from(inner);
    }
    match text {
        "true" => return Value::Bool(true),
        "false" => return Value::Bool(false),
        _ => {}
    }
    if let Ok(n) = text.parse::<i64>() {
        return Value::Int(n);
    }
    let numeric = text
        .bytes()
        .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
        && text.bytes().any(|b| b.is_ascii_digit());
    match text.parse::<f64>() {
        Ok(x) if numeric && x.is_finite() => Value::Float(x),
        _ => Value::from(text),
    }
}
