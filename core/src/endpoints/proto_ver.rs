//! `proto-ver`: the version/capability JSON (docs/protocol.md 7), its exact cJSON rendering for the
//! device side, capability helpers and the security auto-detection of docs/protocol.md 7.3.

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

/// The request body the client sends to `proto-ver` (the device ignores it, but it must not be
/// empty; Android and iOS send `ESP`).
pub const REQUEST_BODY: &[u8] = b"ESP";

/// The label of the provisioning object in the version JSON.
pub const PROV_LABEL: &str = "prov";
/// `prov.ver` of ESP-IDF `wifi_provisioning`.
pub const VER_WIFI_PROV: &str = "v1.1";
/// `prov.ver` of network_provisioning 0.2.0 and every 1.x release.
pub const VER_NETWORK_PROV: &str = "netprov-v1.2";
/// `prov.ver` of the wire-incompatible network_provisioning 0.1.0 pre-release.
pub const VER_NETWORK_PROV_PRERELEASE: &str = "v1.2";

/// Capability: security 0 in use.
pub const CAP_NO_SEC: &str = "no_sec";
/// Capability: security 1 without a proof of possession.
pub const CAP_NO_POP: &str = "no_pop";
/// Capability: Wi-Fi scanning on `prov-scan`.
pub const CAP_WIFI_SCAN: &str = "wifi_scan";
/// Capability: network_provisioning built for Wi-Fi.
pub const CAP_WIFI_PROV: &str = "wifi_prov";
/// Capability: network_provisioning built for Thread.
pub const CAP_THREAD_PROV: &str = "thread_prov";
/// Capability: Thread scanning on `prov-scan`.
pub const CAP_THREAD_SCAN: &str = "thread_scan";
/// App label of RainMaker's claiming information.
pub const APP_RMAKER: &str = "rmaker";
/// App label of RainMaker's extra capabilities (`ch_resp`, `local_ctrl`).
pub const APP_RMAKER_EXTRA: &str = "rmaker_extra";
/// `rmaker` capability: assisted claiming pending.
pub const CAP_CLAIM: &str = "claim";
/// `rmaker` capability: assisted claiming pending, camera (video-stream) node.
pub const CAP_CAMERA_CLAIM: &str = "camera_claim";
/// `rmaker_extra` capability: challenge-response user-node mapping.
pub const CAP_CH_RESP: &str = "ch_resp";
/// `rmaker_extra` capability: provisioning-time local control endpoints.
pub const CAP_LOCAL_CTRL: &str = "local_ctrl";

/// The `prov` object: what the provisioning manager reports about itself.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ProvInfo {
    /// `prov.ver` (`"v1.1"`, `"netprov-v1.2"` ...); empty when absent.
    pub ver: String,
    /// `prov.sec_ver` (0, 1, 2); absent before ESP-IDF v5.0.
    pub sec_ver: Option<u8>,
    /// `prov.sec_patch_ver` (0 or 1); absent means 0.
    pub sec_patch_ver: Option<u8>,
    /// `prov.cap`, in device order.
    pub cap: Vec<String>,
}

/// An application object (`rmaker`, `rmaker_extra` ...).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct AppInfo {
    /// Its key in the version JSON (`rmaker` ...).
    pub label: String,
    /// `<label>.ver`; empty when absent.
    pub ver: String,
    /// `<label>.cap`, in device order.
    pub cap: Vec<String>,
}

/// The parsed version JSON.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct VersionInfo {
    /// The `prov` object, if the reply had one.
    pub prov: Option<ProvInfo>,
    /// Application objects in the order the device listed them.
    pub apps: Vec<AppInfo>,
}

/// What `proto-ver` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum ProtoVersion {
    /// A JSON object (every provisioning-manager firmware).
    Json {
        /// The parsed object.
        info: VersionInfo,
    },
    /// A non-JSON reply, e.g. `V0.1` of ESP-IDF v3.x examples (lossy UTF-8).
    Legacy {
        /// The reply.
        text: String,
    },
    /// An empty reply, or no `proto-ver` endpoint at all.
    Empty,
}

/// Where [`detect_security`] took its answer from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[non_exhaustive]
pub enum DetectionSource {
    /// `prov.sec_ver` was present.
    SecVer,
    /// No `sec_ver`, but `no_sec` in `prov.cap`: security 0.
    NoSecCapability,
    /// A `prov` object without `sec_ver` or `no_sec`: firmware older than security 2, so 1.
    ProvWithoutSecVer,
    /// JSON without a `prov` object: treated like legacy firmware (security 1).
    NoProvInfo,
    /// A non-JSON reply (`V0.1`): legacy firmware, security 1.
    Legacy,
    /// An empty reply or no endpoint: legacy firmware, security 1.
    Empty,
}

/// The outcome of the security auto-detection of docs/protocol.md 7.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct DetectedSecurity {
    /// The security scheme to use (0, 1, 2; a device may report an unsupported value).
    pub sec_ver: u8,
    /// The security 2 patch level (0 when not reported).
    pub sec_patch_ver: u8,
    /// `no_pop` in `prov.cap`: for scheme 1, use an empty PoP without prompting.
    pub no_pop: bool,
    /// Which rule decided.
    pub source: DetectionSource,
}

impl AppInfo {
    /// Whether `cap` lists `name`.
    pub fn has_cap(&self, name: &str) -> bool {
        self.cap.iter().any(|c| c == name)
    }
}

impl ProvInfo {
    /// Whether `cap` lists `name`.
    pub fn has_cap(&self, name: &str) -> bool {
        self.cap.iter().any(|c| c == name)
    }
}

impl VersionInfo {
    /// Whether `prov.cap` lists `cap`.
    pub fn has_prov_cap(&self, cap: &str) -> bool {
        self.prov.as_ref().is_some_and(|p| p.has_cap(cap))
    }

    /// The first application object with this label.
    pub fn app(&self, label: &str) -> Option<&AppInfo> {
        self.apps.iter().find(|a| a.label == label)
    }

    /// Whether the application object `label` lists `cap`.
    pub fn app_cap(&self, label: &str, cap: &str) -> bool {
        self.app(label).is_some_and(|a| a.has_cap(cap))
    }

    /// RainMaker assisted claiming is pending (`claim` or `camera_claim` in `rmaker.cap`): run it
    /// before anything else.
    pub fn needs_claim(&self) -> bool {
        self.app_cap(APP_RMAKER, CAP_CLAIM) || self.app_cap(APP_RMAKER, CAP_CAMERA_CLAIM)
    }

    /// The pending claim is for a camera node (`camera_claim`).
    pub fn is_camera_claim(&self) -> bool {
        self.app_cap(APP_RMAKER, CAP_CAMERA_CLAIM)
    }

    /// RainMaker challenge-response user-node mapping is available (`rmaker_extra.cap` has `ch_resp`).
    pub fn has_ch_resp(&self) -> bool {
        self.app_cap(APP_RMAKER_EXTRA, CAP_CH_RESP)
    }

    /// RainMaker provisioning-time local control is available (`rmaker_extra.cap` has `local_ctrl`).
    pub fn has_local_ctrl(&self) -> bool {
        self.app_cap(APP_RMAKER_EXTRA, CAP_LOCAL_CTRL)
    }

    /// Wi-Fi scanning is available (`wifi_scan` in `prov.cap`; nothing else implies it).
    pub fn has_wifi_scan(&self) -> bool {
        self.has_prov_cap(CAP_WIFI_SCAN)
    }

    /// The device provisions Wi-Fi: `wifi_prov` in `prov.cap`, or no `thread_prov` (every
    /// `wifi_provisioning` firmware).
    pub fn supports_wifi(&self) -> bool {
        self.has_prov_cap(CAP_WIFI_PROV) || !self.has_prov_cap(CAP_THREAD_PROV)
    }

    /// The device provisions Thread (`thread_prov` in `prov.cap`).
    pub fn supports_thread(&self) -> bool {
        self.has_prov_cap(CAP_THREAD_PROV)
    }

    /// Thread scanning is available (`thread_scan` in `prov.cap`).
    pub fn has_thread_scan(&self) -> bool {
        self.has_prov_cap(CAP_THREAD_SCAN)
    }

    /// The device runs network_provisioning (`prov.ver` = `netprov-v1.2`).
    pub fn is_network_provisioning(&self) -> bool {
        self.prov.as_ref().is_some_and(|p| p.ver == VER_NETWORK_PROV)
    }

    /// The device runs the wire-incompatible network_provisioning 0.1.0 pre-release
    /// (`prov.ver` = `v1.2`, docs/protocol.md 3.10): treat it as unsupported.
    pub fn is_incompatible_prerelease(&self) -> bool {
        self.prov.as_ref().is_some_and(|p| p.ver == VER_NETWORK_PROV_PRERELEASE)
    }
}

impl ProtoVersion {
    /// The parsed JSON, if the reply was JSON.
    pub fn info(&self) -> Option<&VersionInfo> {
        match self {
            ProtoVersion::Json { info } => Some(info),
            ProtoVersion::Legacy { .. } | ProtoVersion::Empty => None,
        }
    }

    /// The `prov` object, if any.
    pub fn prov(&self) -> Option<&ProvInfo> {
        self.info().and_then(|i| i.prov.as_ref())
    }

    /// See [`VersionInfo::has_prov_cap`]; false for legacy and empty replies.
    pub fn has_prov_cap(&self, cap: &str) -> bool {
        self.info().is_some_and(|i| i.has_prov_cap(cap))
    }

    /// See [`VersionInfo::app_cap`]; false for legacy and empty replies.
    pub fn app_cap(&self, label: &str, cap: &str) -> bool {
        self.info().is_some_and(|i| i.app_cap(label, cap))
    }

    /// See [`VersionInfo::is_camera_claim`].
    pub fn is_camera_claim(&self) -> bool {
        self.info().is_some_and(VersionInfo::is_camera_claim)
    }

    /// See [`VersionInfo::has_local_ctrl`].
    pub fn has_local_ctrl(&self) -> bool {
        self.info().is_some_and(VersionInfo::has_local_ctrl)
    }
}

// The questions an app asks about a device's `proto-ver`, also exported to Kotlin and Swift as
// methods of `ProtoVersion`.
#[cfg_attr(feature = "uniffi", uniffi::export)]
impl ProtoVersion {
    /// The security the device asks for, as [`detect_security`] decides it.
    pub fn detected_security(&self) -> DetectedSecurity {
        detect_security(self)
    }

    /// See [`VersionInfo::needs_claim`].
    pub fn needs_claim(&self) -> bool {
        self.info().is_some_and(VersionInfo::needs_claim)
    }

    /// See [`VersionInfo::has_ch_resp`].
    pub fn has_ch_resp(&self) -> bool {
        self.info().is_some_and(VersionInfo::has_ch_resp)
    }

    /// See [`VersionInfo::has_wifi_scan`]; legacy firmware has no scan list (docs/protocol.md 7.3).
    pub fn has_wifi_scan(&self) -> bool {
        self.info().is_some_and(VersionInfo::has_wifi_scan)
    }

    /// See [`VersionInfo::supports_wifi`]; legacy and empty replies are Wi-Fi firmware.
    pub fn supports_wifi(&self) -> bool {
        self.info().is_none_or(VersionInfo::supports_wifi)
    }

    /// See [`VersionInfo::supports_thread`].
    pub fn supports_thread(&self) -> bool {
        self.info().is_some_and(VersionInfo::supports_thread)
    }

    /// See [`VersionInfo::has_thread_scan`].
    pub fn has_thread_scan(&self) -> bool {
        self.info().is_some_and(VersionInfo::has_thread_scan)
    }
}

/// A JSON object with its keys in document order (serde_json's own map sorts them).
struct OrderedObject(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for OrderedObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjVisitor;
        impl<'de> Visitor<'de> for ObjVisitor {
            type Value = OrderedObject;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedObject, A::Error> {
                let mut entries = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    entries.push((k, v));
                }
                Ok(OrderedObject(entries))
            }
        }
        deserializer.deserialize_map(ObjVisitor)
    }
}

fn string_field(obj: &serde_json::Map<String, Value>, key: &str) -> String {
    match obj.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(other @ (Value::Number(_) | Value::Bool(_))) => other.to_string(),
        _ => String::new(),
    }
}

fn u8_field(obj: &serde_json::Map<String, Value>, key: &str) -> Option<u8> {
    let v = obj.get(key)?;
    let parsed = match v {
        Value::Number(n) => n.as_u64().and_then(|n| u8::try_from(n).ok()),
        Value::String(s) => s.trim().parse::<u8>().ok(),
        _ => None,
    };
    if parsed.is_none() {
        log::warn!("proto-ver: ignoring `{key}` with unusable value {v}");
    }
    parsed
}

fn cap_field(obj: &serde_json::Map<String, Value>) -> Vec<String> {
    match obj.get("cap") {
        Some(Value::Array(items)) => items.iter().filter_map(|c| c.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    }
}

/// Parses a `proto-ver` reply. Never fails: a reply that is not a JSON object is
/// [`ProtoVersion::Legacy`], an empty one [`ProtoVersion::Empty`]. Unknown keys are ignored,
/// application labels keep the device's order.
pub fn parse(body: &[u8]) -> ProtoVersion {
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    if trimmed.is_empty() {
        return ProtoVersion::Empty;
    }
    let Ok(OrderedObject(entries)) = serde_json::from_str::<OrderedObject>(trimmed) else {
        return ProtoVersion::Legacy { text: trimmed.to_owned() };
    };
    let mut info = VersionInfo::default();
    for (label, value) in entries {
        let Value::Object(obj) = value else {
            log::debug!("proto-ver: ignoring non-object entry `{label}`");
            continue;
        };
        if label == PROV_LABEL {
            if info.prov.is_none() {
                info.prov = Some(ProvInfo {
                    ver: string_field(&obj, "ver"),
                    sec_ver: u8_field(&obj, "sec_ver"),
                    sec_patch_ver: u8_field(&obj, "sec_patch_ver"),
                    cap: cap_field(&obj),
                });
            }
        } else {
            info.apps.push(AppInfo { label, ver: string_field(&obj, "ver"), cap: cap_field(&obj) });
        }
    }
    ProtoVersion::Json { info }
}

/// A value of the small JSON subset the version object uses.
enum Node<'a> {
    Str(&'a str),
    Num(u8),
    Arr(&'a [String]),
    Obj(Vec<(&'a str, Node<'a>)>),
}

/// cJSON's `print_string_ptr`.
fn print_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// cJSON's formatted `print_value`; `depth` is the nesting depth of the enclosing object.
fn print_node(out: &mut String, node: &Node<'_>, depth: usize) {
    match node {
        Node::Str(s) => print_string(out, s),
        Node::Num(n) => out.push_str(&n.to_string()),
        Node::Arr(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                print_string(out, item);
            }
            out.push(']');
        }
        Node::Obj(members) => {
            let depth = depth + 1;
            out.push_str("{\n");
            for (i, (key, value)) in members.iter().enumerate() {
                out.extend(std::iter::repeat_n('\t', depth));
                print_string(out, key);
                out.push_str(":\t");
                print_node(out, value, depth);
                if i + 1 < members.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            out.extend(std::iter::repeat_n('\t', depth - 1));
            out.push('}');
        }
    }
}

/// Renders the version JSON exactly as the firmware's cJSON pretty-printer does (docs/protocol.md 7.1):
/// tabs and newlines, a tab after each colon, `", "` between array elements, application labels
/// first and `prov` last, with `ver`, `sec_ver`, `sec_patch_ver`, `cap` in that order (absent
/// optional numbers are left out).
pub fn render(info: &VersionInfo) -> String {
    let mut members: Vec<(&str, Node<'_>)> = info
        .apps
        .iter()
        .map(|app| (app.label.as_str(), Node::Obj(vec![("ver", Node::Str(&app.ver)), ("cap", Node::Arr(&app.cap))])))
        .collect();
    if let Some(prov) = &info.prov {
        let mut fields = vec![("ver", Node::Str(&prov.ver))];
        if let Some(v) = prov.sec_ver {
            fields.push(("sec_ver", Node::Num(v)));
        }
        if let Some(v) = prov.sec_patch_ver {
            fields.push(("sec_patch_ver", Node::Num(v)));
        }
        fields.push(("cap", Node::Arr(&prov.cap)));
        members.push((PROV_LABEL, Node::Obj(fields)));
    }
    let mut out = String::new();
    print_node(&mut out, &Node::Obj(members), 0);
    out
}

/// Picks the security scheme from a `proto-ver` reply (docs/protocol.md 7.3):
/// `prov.sec_ver` when present (with `sec_patch_ver`, default 0); else `no_sec` in `prov.cap`
/// gives 0; else 1. A reply without a `prov` object, a non-JSON reply and an empty reply give 1.
pub fn detect_security(version: &ProtoVersion) -> DetectedSecurity {
    let legacy = |source| DetectedSecurity { sec_ver: 1, sec_patch_ver: 0, no_pop: false, source };
    let info = match version {
        ProtoVersion::Json { info } => info,
        ProtoVersion::Legacy { .. } => return legacy(DetectionSource::Legacy),
        ProtoVersion::Empty => return legacy(DetectionSource::Empty),
    };
    let Some(prov) = &info.prov else {
        return legacy(DetectionSource::NoProvInfo);
    };
    let no_pop = prov.has_cap(CAP_NO_POP);
    match prov.sec_ver {
        Some(sec_ver) => DetectedSecurity {
            sec_ver,
            sec_patch_ver: prov.sec_patch_ver.unwrap_or(0),
            no_pop,
            source: DetectionSource::SecVer,
        },
        None if prov.has_cap(CAP_NO_SEC) => {
            DetectedSecurity { sec_ver: 0, sec_patch_ver: 0, no_pop, source: DetectionSource::NoSecCapability }
        }
        None => DetectedSecurity { sec_ver: 1, sec_patch_ver: 0, no_pop, source: DetectionSource::ProvWithoutSecVer },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const SEC1_POP: &str = "{\n\t\"prov\":\t{\n\t\t\"ver\":\t\"v1.1\",\n\t\t\"sec_ver\":\t1,\n\t\t\"sec_patch_ver\":\t0,\n\t\t\"cap\":\t[\"wifi_scan\"]\n\t}\n}";
    const SEC1_NO_POP: &str = "{\n\t\"prov\":\t{\n\t\t\"ver\":\t\"v1.1\",\n\t\t\"sec_ver\":\t1,\n\t\t\"sec_patch_ver\":\t0,\n\t\t\"cap\":\t[\"no_pop\", \"wifi_scan\"]\n\t}\n}";
    const WITH_APP: &str = "{\n\t\"rmaker_extra\":\t{\n\t\t\"ver\":\t\"1.0\",\n\t\t\"cap\":\t[\"ch_resp\"]\n\t},\n\t\"prov\":\t{\n\t\t\"ver\":\t\"v1.1\",\n\t\t\"sec_ver\":\t2,\n\t\t\"sec_patch_ver\":\t1,\n\t\t\"cap\":\t[\"wifi_scan\"]\n\t}\n}";

    fn json(body: &str) -> VersionInfo {
        match parse(body.as_bytes()) {
            ProtoVersion::Json { info } => info,
            other => panic!("not JSON: {other:?}"),
        }
    }

    #[test]
    fn spec_examples_round_trip_byte_for_byte() {
        for body in [SEC1_POP, SEC1_NO_POP, WITH_APP] {
            assert_eq!(render(&json(body)), body);
        }
    }

    #[test]
    fn app_labels_keep_device_order() {
        let body = "{\"zeta\":{\"ver\":\"1\",\"cap\":[]},\"rmaker\":{\"ver\":\"1.0\",\"cap\":[\"claim\"]},\"alpha\":{\"ver\":\"2\",\"cap\":[\"x\"]},\"prov\":{\"ver\":\"v1.1\",\"cap\":[]}}";
        let info = json(body);
        let labels: Vec<&str> = info.apps.iter().map(|a| a.label.as_str()).collect();
        assert_eq!(labels, ["zeta", "rmaker", "alpha"]);
        assert!(info.needs_claim());
        assert!(!info.is_camera_claim());
        let rendered = render(&info);
        assert!(rendered.starts_with("{\n\t\"zeta\":\t{\n\t\t\"ver\":\t\"1\",\n\t\t\"cap\":\t[]\n\t},\n\t\"rmaker\""));
        assert!(rendered.ends_with("\"cap\":\t[]\n\t}\n}"));
    }

    #[test]
    fn render_escapes_like_cjson() {
        let info = VersionInfo {
            prov: None,
            apps: vec![AppInfo { label: "a\"b".into(), ver: "x\\y\n\u{1}é".into(), cap: vec![] }],
        };
        assert_eq!(
            render(&info),
            "{\n\t\"a\\\"b\":\t{\n\t\t\"ver\":\t\"x\\\\y\\n\\u0001é\",\n\t\t\"cap\":\t[]\n\t}\n}"
        );
        assert_eq!(render(&VersionInfo::default()), "{\n}");
    }

    #[test]
    fn capability_helpers() {
        let info = json(
            "{\"rmaker\":{\"ver\":\"1.0\",\"cap\":[\"camera_claim\"]},\"rmaker_extra\":{\"ver\":\"1.0\",\"cap\":[\"ch_resp\",\"local_ctrl\"]},\"prov\":{\"ver\":\"netprov-v1.2\",\"sec_ver\":2,\"cap\":[\"thread_prov\",\"thread_scan\"]}}",
        );
        assert!(info.needs_claim() && info.is_camera_claim());
        assert!(info.has_ch_resp() && info.has_local_ctrl());
        assert!(info.supports_thread() && info.has_thread_scan());
        assert!(!info.supports_wifi() && !info.has_wifi_scan());
        assert!(info.is_network_provisioning() && !info.is_incompatible_prerelease());
        assert!(!info.app_cap("rmaker", "ch_resp"), "ch_resp lives in rmaker_extra");
        let legacy = ProtoVersion::Legacy { text: "V0.1".into() };
        assert!(!legacy.has_wifi_scan() && legacy.supports_wifi() && !legacy.needs_claim());
        let wifi = json(SEC1_POP);
        assert!(wifi.supports_wifi() && wifi.has_wifi_scan() && !wifi.supports_thread());
    }

    #[test]
    fn tolerant_parsing() {
        assert_eq!(parse(b""), ProtoVersion::Empty);
        assert_eq!(parse(b" \n\0"), ProtoVersion::Empty);
        assert_eq!(parse(b"V0.1"), ProtoVersion::Legacy { text: "V0.1".into() });
        assert_eq!(parse(b"[1,2]"), ProtoVersion::Legacy { text: "[1,2]".into() });
        assert_eq!(parse(b"{\"prov\":"), ProtoVersion::Legacy { text: "{\"prov\":".into() });
        assert!(matches!(parse(b"\xff\xfe"), ProtoVersion::Legacy { .. }));
        // Trailing NUL, odd types.
        let info =
            json("{\"prov\":{\"ver\":7,\"sec_ver\":\"2\",\"sec_patch_ver\":-1,\"cap\":[\"a\",3,null]},\"x\":5}\0");
        let prov = info.prov.unwrap();
        assert_eq!(prov.ver, "7");
        assert_eq!(prov.sec_ver, Some(2));
        assert_eq!(prov.sec_patch_ver, None);
        assert_eq!(prov.cap, ["a"]);
        assert!(info.apps.is_empty());
        assert_eq!(json("{}"), VersionInfo::default());
    }

    #[test]
    fn detection_table() {
        let d = detect_security(&parse(WITH_APP.as_bytes()));
        assert_eq!((d.sec_ver, d.sec_patch_ver, d.no_pop, d.source), (2, 1, false, DetectionSource::SecVer));
        let d = detect_security(&parse(SEC1_NO_POP.as_bytes()));
        assert_eq!((d.sec_ver, d.sec_patch_ver, d.no_pop, d.source), (1, 0, true, DetectionSource::SecVer));
        let d = detect_security(&parse(b"{\"prov\":{\"ver\":\"v1.1\",\"sec_ver\":2,\"cap\":[]}}"));
        assert_eq!((d.sec_ver, d.sec_patch_ver), (2, 0), "sec_patch_ver defaults to 0");
        let d = detect_security(&parse(b"{\"prov\":{\"ver\":\"v1.1\",\"cap\":[\"no_sec\",\"wifi_scan\"]}}"));
        assert_eq!((d.sec_ver, d.source), (0, DetectionSource::NoSecCapability));
        let d = detect_security(&parse(b"{\"prov\":{\"ver\":\"v1.1\",\"cap\":[\"no_pop\",\"wifi_scan\"]}}"));
        assert_eq!((d.sec_ver, d.no_pop, d.source), (1, true, DetectionSource::ProvWithoutSecVer));
        let d = detect_security(&parse(b"{\"prov\":{\"ver\":\"v1.1\",\"cap\":[\"wifi_scan\"]}}"));
        assert_eq!((d.sec_ver, d.no_pop, d.source), (1, false, DetectionSource::ProvWithoutSecVer));
        let d = detect_security(&parse(b"V0.1"));
        assert_eq!((d.sec_ver, d.sec_patch_ver, d.no_pop, d.source), (1, 0, false, DetectionSource::Legacy));
        let d = detect_security(&parse(b""));
        assert_eq!((d.sec_ver, d.source), (1, DetectionSource::Empty));
        let d = detect_security(&parse(b"{\"rmaker\":{\"ver\":\"1.0\",\"cap\":[]}}"));
        assert_eq!((d.sec_ver, d.source), (1, DetectionSource::NoProvInfo));
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
            let _ = detect_security(&parse(&bytes));
        }

        #[test]
        fn render_then_parse_is_identity(
            labels in proptest::collection::vec("[a-z_\"\\\\\t]{1,8}", 0..3),
            caps in proptest::collection::vec("[ -~é\n]{0,10}", 0..4),
            sec in proptest::option::of(0u8..3),
            patch in proptest::option::of(0u8..2),
        ) {
            let mut apps: Vec<AppInfo> = Vec::new();
            for l in labels {
                if l != PROV_LABEL && !apps.iter().any(|a| a.label == l) {
                    apps.push(AppInfo { label: l, ver: "1.0".into(), cap: caps.clone() });
                }
            }
            let info = VersionInfo { prov: Some(ProvInfo { ver: "v1.1".into(), sec_ver: sec, sec_patch_ver: patch, cap: caps }), apps };
            let text = render(&info);
            proptest::prop_assert_eq!(parse(text.as_bytes()), ProtoVersion::Json { info });
        }
    }
}
