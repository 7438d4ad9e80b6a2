//! The message bodies: Slack's incoming webhook (`text` plus Block Kit `blocks`), Discord's
//! execute-webhook (`content` plus one embed), and frugal's own JSON for any webhook. Each
//! stays within its receiver's documented limits, and the text reads well on a phone: short
//! lines, no links, the list cut with "and N more".

use serde_json::{Value, json};

use super::news::News;
use crate::api::notifier::NotifierType;

/// Lines of changes listed before "and N more".
const MAX_ITEMS: usize = 8;
/// One listed line, in characters.
const MAX_LINE: usize = 160;
/// A cost basis, in characters.
const MAX_BASIS: usize = 140;

/// Slack: a header's text (plain_text) is at most 150 characters, a section's at most 3000.
const SLACK_HEADER: usize = 150;
const SLACK_SECTION: usize = 3000;
/// Discord: content at most 2000 characters; an embed's title 256, description 4096, a
/// field's name 256 and value 1024, all of an embed's text together 6000.
const DISCORD_CONTENT: usize = 2000;
const DISCORD_TITLE: usize = 256;
const DISCORD_DESCRIPTION: usize = 4096;
const DISCORD_FIELD_VALUE: usize = 1024;

/// The JSON body for a receiver of this type.
pub fn body(type_: NotifierType, news: &News) -> Value {
    match type_ {
        NotifierType::Slack => slack(news),
        NotifierType::Discord => discord(news),
        NotifierType::Webhook => webhook(news),
    }
}

/// One line that says it all: "prod: 3 changes, 2 new findings (111122223333 eu-west-1, Enforce)".
pub fn headline(news: &News) -> String {
    let mut parts = Vec::new();
    let changes: usize = news.changes.iter().map(|c| c.count).sum();
    if changes > 0 {
        parts.push(plural(changes, "change", "changes"));
    }
    let found: u32 = news.new_findings.iter().map(|f| f.now - f.previous).sum();
    if found > 0 {
        parts.push(plural(found as usize, "new finding", "new findings"));
    }
    if !news.errors.is_empty() {
        parts.push(plural(news.errors.len(), "failure", "failures"));
    }
    if news.stalled.is_some() {
        parts.push("stalled".to_string());
    }
    let target = &news.target;
    format!("{}: {} ({} {}, {:?})", target.policy, parts.join(", "), target.account, target.region, target.mode)
}

fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

/// The message's lines after the headline: changes, new findings, failures, stall, money.
pub fn lines(news: &News) -> Vec<String> {
    let mut lines = Vec::new();
    let total: usize = news.changes.iter().map(|c| c.count).sum();
    if total > 0 {
        let per_area: Vec<String> = news.changes.iter().map(|c| format!("{} {}", c.area, c.count)).collect();
        lines.push(format!("Changed: {}", per_area.join(", ")));
        let items: Vec<String> = news.changes.iter().flat_map(|c| c.items.iter().map(move |i| format!("• {}: {i}", c.area))).collect();
        for item in items.iter().take(MAX_ITEMS) {
            lines.push(cut(item, MAX_LINE));
        }
        if items.len() > MAX_ITEMS {
            lines.push(format!("…and {} more", items.len() - MAX_ITEMS));
        }
    }
    for growth in &news.new_findings {
        lines.push(format!("New findings: {} {} → {}", growth.area, growth.previous, growth.now));
    }
    for error in &news.errors {
        lines.push(cut(&format!("Failed: {} {}: {}", error.condition, error.reason, error.message), MAX_LINE * 2));
    }
    if let Some(stalled) = &news.stalled {
        lines.push(cut(&format!("Stalled: {}: {}", stalled.reason, stalled.message), MAX_LINE * 2));
    }
    let money = &news.money;
    if !money.monthly_waste_usd.is_empty() {
        lines.push(format!("Money: ${}/month open waste, ${}/month saved", money.monthly_waste_usd, money.monthly_savings_usd));
        for area in &money.areas {
            lines.push(format!(
                "• {}: ${} waste, ${} saved ({})",
                area.area,
                area.monthly_waste_usd,
                area.monthly_savings_usd,
                cut(&area.basis, MAX_BASIS)
            ));
        }
    }
    lines
}

/// At most `max` characters, "…" at the end when cut.
pub fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Lines joined, stopping before `max` characters with "…and N more lines".
fn joined(lines: &[String], max: usize) -> String {
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        let rest = lines.len() - i;
        let tail = format!("\n…and {rest} more lines");
        if out.chars().count() + line.chars().count() + 1 + tail.chars().count() > max {
            out.push_str(tail.trim_start_matches('\n'));
            return cut(&out, max);
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(line);
    }
    out
}

/// Slack's mrkdwn treats &, < and > as control characters.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn slack(news: &News) -> Value {
    let headline = headline(news);
    let lines: Vec<String> = lines(news).iter().map(|l| slack_escape(l)).collect();
    let target = &news.target;
    json!({
        "text": slack_escape(&headline),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": cut(&format!("frugal: {headline}"), SLACK_HEADER), "emoji": false}},
            {"type": "section", "text": {"type": "mrkdwn", "text": joined(&lines, SLACK_SECTION)}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": slack_escape(&format!(
                "CostPolicy {} · account {} · {} · {:?} · {}", target.policy, target.account, target.region, target.mode, news.time
            ))}]}
        ]
    })
}

fn discord(news: &News) -> Value {
    let target = &news.target;
    // Red for failures and stalls, green for changes, amber for findings only.
    let color = if !news.errors.is_empty() || news.stalled.is_some() {
        0xD9_3F_3F
    } else if !news.changes.is_empty() {
        0x2E_A0_43
    } else {
        0xE0_A1_00
    };
    let field = |name: &str, value: String| json!({"name": name, "value": cut(&value, DISCORD_FIELD_VALUE), "inline": true});
    json!({
        "content": cut(&headline(news), DISCORD_CONTENT),
        "embeds": [{
            "title": cut(&format!("frugal: CostPolicy {}", target.policy), DISCORD_TITLE),
            "description": joined(&lines(news), DISCORD_DESCRIPTION.min(6000 - 600)),
            "color": color,
            "fields": [
                field("Account", target.account.clone()),
                field("Region", target.region.clone()),
                field("Mode", format!("{:?}", target.mode)),
            ],
            "timestamp": news.time,
        }],
        // Text from AWS must never ping @everyone or a role.
        "allowed_mentions": {"parse": []}
    })
}

/// frugal's own body, documented in docs/RUNBOOK.md ("The webhook body").
fn webhook(news: &News) -> Value {
    let target = &news.target;
    json!({
        "apiVersion": "frugal.dev/v1alpha1",
        "kind": "Notification",
        "policy": target.policy,
        "account": target.account,
        "region": target.region,
        "mode": format!("{:?}", target.mode),
        "events": news.kinds().iter().map(|k| k.as_str()).collect::<Vec<_>>(),
        "summary": headline(news),
        "text": lines(news).join("\n"),
        "changes": news.changes,
        "newFindings": news.new_findings,
        "errors": news.errors,
        "stalled": news.stalled,
        "cost": news.money,
        "time": news.time,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Mode;
    use crate::notify::news::{AreaChanges, AreaMoney, FindingsGrowth, Money, Problem, Target};

    fn news(items: usize) -> News {
        News {
            target: Target { policy: "prod".into(), account: "111122223333".into(), region: "eu-west-1".into(), mode: Mode::Enforce },
            changes: vec![AreaChanges {
                area: "snapshotRetention".into(),
                count: items,
                items: (0..items).map(|i| format!("deleted snap-{i:017} <expired> & gone")).collect(),
            }],
            new_findings: vec![FindingsGrowth { area: "gatewayEndpoints".into(), previous: 1, now: 3 }],
            errors: vec![],
            stalled: None,
            money: Money {
                monthly_waste_usd: "12.50".into(),
                monthly_savings_usd: "3.00".into(),
                areas: vec![AreaMoney {
                    area: "snapshotRetention".into(),
                    monthly_waste_usd: "12.50".into(),
                    monthly_savings_usd: "3.00".into(),
                    basis: "upper bound: volume size × $0.05/GB-month".into(),
                }],
            },
            time: "2026-12-03T03:00:00Z".into(),
        }
    }

    #[test]
    fn the_headline_says_what_where_and_how_much_in_one_line() {
        assert_eq!(headline(&news(2)), "prod: 2 changes, 2 new findings (111122223333 eu-west-1, Enforce)");
        let lines = lines(&news(2));
        assert_eq!(lines[0], "Changed: snapshotRetention 2");
        assert!(lines.contains(&"New findings: gatewayEndpoints 1 → 3".to_string()), "{lines:?}");
        assert!(lines.contains(&"Money: $12.50/month open waste, $3.00/month saved".to_string()), "{lines:?}");
        assert!(lines.iter().all(|l| !l.contains("http")), "no links: {lines:?}");
    }

    #[test]
    fn a_long_list_is_cut_with_and_n_more() {
        let lines = lines(&news(30));
        assert_eq!(lines.iter().filter(|l| l.starts_with("• snapshotRetention: deleted")).count(), MAX_ITEMS);
        assert!(lines.contains(&format!("…and {} more", 30 - MAX_ITEMS)), "{lines:?}");
    }

    #[test]
    fn slack_gets_text_and_blocks_within_its_limits_with_mrkdwn_escaped() {
        let mut big = news(3);
        big.errors = (0..40)
            .map(|i| Problem { condition: format!("Area{i}InSync"), reason: "ActionFailed".into(), message: "x".repeat(400) })
            .collect();
        let body = body(NotifierType::Slack, &big);
        assert!(body["text"].as_str().is_some_and(|t| t.starts_with("prod: 3 changes")), "{body}");
        let blocks = body["blocks"].as_array().expect("blocks");
        assert_eq!(blocks[0]["type"], "header");
        assert!(blocks[0]["text"]["text"].as_str().expect("header text").chars().count() <= SLACK_HEADER);
        let section = blocks[1]["text"]["text"].as_str().expect("section text");
        assert!(section.chars().count() <= SLACK_SECTION, "{}", section.len());
        assert!(section.contains("more lines"), "what did not fit is counted");
        assert!(section.contains("&lt;expired&gt; &amp; gone") && !section.contains("<expired>"), "{section}");
    }

    #[test]
    fn discord_gets_content_and_one_embed_within_its_limits_and_pings_nobody() {
        let mut big = news(500);
        big.stalled = Some(Problem { condition: "Stalled".into(), reason: "InvalidSpec".into(), message: "y".repeat(5000) });
        let body = body(NotifierType::Discord, &big);
        assert!(body["content"].as_str().expect("content").chars().count() <= DISCORD_CONTENT);
        let embed = &body["embeds"][0];
        let description = embed["description"].as_str().expect("description");
        assert!(description.chars().count() <= DISCORD_DESCRIPTION);
        let total = ["title", "description"].iter().map(|k| embed[k].as_str().unwrap_or("").chars().count()).sum::<usize>()
            + embed["fields"]
                .as_array()
                .expect("fields")
                .iter()
                .map(|f| f["name"].as_str().unwrap_or("").len() + f["value"].as_str().unwrap_or("").len())
                .sum::<usize>();
        assert!(total <= 6000, "{total}");
        assert_eq!(embed["color"], 0xD93F3F, "a stall is red");
        assert_eq!(embed["timestamp"], "2026-12-03T03:00:00Z");
        assert_eq!(body["allowed_mentions"], json!({"parse": []}));
    }

    #[test]
    fn the_webhook_body_has_every_documented_field() {
        let body = body(NotifierType::Webhook, &news(1));
        let keys: Vec<&str> = body.as_object().expect("object").keys().map(String::as_str).collect();
        for key in [
            "apiVersion",
            "kind",
            "policy",
            "account",
            "region",
            "mode",
            "events",
            "summary",
            "text",
            "changes",
            "newFindings",
            "errors",
            "stalled",
            "cost",
            "time",
        ] {
            assert!(keys.contains(&key), "{key} missing: {body}");
        }
        assert_eq!(body["events"], json!(["Changes", "NewFindings"]));
        assert_eq!(
            body["changes"][0],
            json!({"area": "snapshotRetention", "count": 1, "items": ["deleted snap-00000000000000000 <expired> & gone"]})
        );
        assert_eq!(body["cost"]["areas"][0]["basis"], "upper bound: volume size × $0.05/GB-month");
        assert_eq!(body["newFindings"][0], json!({"area": "gatewayEndpoints", "previous": 1, "now": 3}));
    }
}
