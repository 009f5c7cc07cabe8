//! The GATT layout of a provisioning device (docs/protocol.md §5.1.1–§5.1.3), as pure functions:
//! UUID byte order and derivation, endpoint ids, `name -> characteristic` maps, device-name
//! filters and the advertisement filter of the phone adapters ([`advertisement_matches`]). No I/O
//! and no Bluetooth stack: the GATT driver and host applications (which bring their own BLE
//! stack) share them.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

/// The device-name prefix provisioning firmware advertises by convention (`PROV_1A2B3C`).
pub const DEFAULT_NAME_PREFIX: &str = "PROV_";

/// The service UUID of the ESP-IDF `wifi_prov_mgr` example, the default of Espressif's mobile
/// libraries and esp_prov's fallback.
pub const EXAMPLE_SERVICE_UUID: &str = "021a9004-0382-4aea-bff4-6b3f1c5adfb4";

/// The provisioning manager's own default service UUID.
pub const MANAGER_SERVICE_UUID: &str = "1775244d-6b43-439b-877c-060f2d9bed07";

/// The 16-bit service UUID of ESP-IDF v3.2 firmware (`0xFFFF`), in 128-bit form.
pub const LEGACY_SERVICE_UUID: &str = "0000ffff-0000-1000-8000-00805f9b34fb";

/// The Characteristic User Description descriptor (0x2901), in 128-bit form: its value is the
/// endpoint name.
pub const USER_DESCRIPTION_UUID: &str = "00002901-0000-1000-8000-00805f9b34fb";

/// The 16-bit ids of the standard endpoints, in the firmware's table order.
pub const STANDARD_ENDPOINT_IDS: [(&str, u16); 5] = [
    ("prov-ctrl", 0xFF4F),
    ("prov-scan", 0xFF50),
    ("prov-session", 0xFF51),
    ("prov-config", 0xFF52),
    ("proto-ver", 0xFF53),
];

/// The id of the first custom endpoint; later ones follow in creation order.
pub const FIRST_CUSTOM_ENDPOINT_ID: u16 = 0xFF54;

/// A malformed UUID string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a 128-bit UUID of the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx")]
pub struct InvalidUuid(pub String);

/// The canonical (lowercase, hyphenated) string of a UUID stored the firmware's way: 16 bytes,
/// least-significant byte first.
pub fn uuid_from_lsb_bytes(bytes: &[u8; 16]) -> String {
    let mut text = String::with_capacity(36);
    for (index, byte) in bytes.iter().rev().enumerate() {
        if matches!(index, 4 | 6 | 8 | 10) {
            text.push('-');
        }
        text.push_str(&format!("{byte:02x}"));
    }
    text
}

/// The firmware's byte array (least-significant byte first) of a UUID string. Accepts either
/// case; the hyphens must be where the canonical form has them.
pub fn uuid_to_lsb_bytes(uuid: &str) -> Result<[u8; 16], InvalidUuid> {
    let invalid = || InvalidUuid(uuid.to_owned());
    let text = uuid.as_bytes();
    if text.len() != 36 || [8, 13, 18, 23].iter().any(|&i| text[i] != b'-') {
        return Err(invalid());
    }
    let digits: Vec<u8> = text.iter().copied().filter(|&c| c != b'-').collect();
    if digits.len() != 32 {
        return Err(invalid());
    }
    let mut bytes = [0u8; 16];
    for (index, pair) in digits.chunks_exact(2).enumerate() {
        let high = hex_value(pair[0]).ok_or_else(invalid)?;
        let low = hex_value(pair[1]).ok_or_else(invalid)?;
        // The string is most-significant first; the array is the reverse.
        bytes[15 - index] = (high << 4) | low;
    }
    Ok(bytes)
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit).to_digit(16).and_then(|value| u8::try_from(value).ok())
}

/// The canonical form of a UUID string (lowercase), or an error when it is not one.
pub fn normalize_uuid(uuid: &str) -> Result<String, InvalidUuid> {
    uuid_to_lsb_bytes(uuid).map(|bytes| uuid_from_lsb_bytes(&bytes))
}

/// The canonical 128-bit form of a UUID as BLE stacks print it: the 128-bit form in either case,
/// or a 16- or 32-bit short form (`2901`, `0x2901`, `0000ffff`, as CoreBluetooth prints assigned
/// numbers) expanded onto the Bluetooth base UUID `0000xxxx-0000-1000-8000-00805f9b34fb`.
pub fn canonical_uuid(uuid: &str) -> Result<String, InvalidUuid> {
    let digits = uuid.strip_prefix("0x").or_else(|| uuid.strip_prefix("0X")).unwrap_or(uuid);
    if matches!(digits.len(), 4 | 8) && digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(format!("{:0>8}-0000-1000-8000-00805f9b34fb", digits.to_ascii_lowercase()));
    }
    normalize_uuid(uuid)
}

/// The UUID of the characteristic with 16-bit id `id` in the service `service_uuid`: array bytes
/// 12 and 13 replaced by the id, little-endian (docs/protocol.md §5.1.2). For the service
/// `1775244d-…` and `prov-session` (0xFF51) this gives `1775ff51-…`.
pub fn characteristic_uuid(service_uuid: &str, id: u16) -> Result<String, InvalidUuid> {
    let mut bytes = uuid_to_lsb_bytes(service_uuid)?;
    let [low, high] = id.to_le_bytes();
    bytes[12] = low;
    bytes[13] = high;
    Ok(uuid_from_lsb_bytes(&bytes))
}

/// The 16-bit endpoint id a characteristic UUID carries (array bytes 12 and 13, little-endian);
/// the device looks endpoints up by this id alone.
pub fn endpoint_id_of(characteristic_uuid: &str) -> Result<u16, InvalidUuid> {
    let bytes = uuid_to_lsb_bytes(characteristic_uuid)?;
    Ok(u16::from_le_bytes([bytes[12], bytes[13]]))
}

/// The id of a standard endpoint (`prov-session` → 0xFF51), `None` for any other name.
pub fn standard_endpoint_id(name: &str) -> Option<u16> {
    STANDARD_ENDPOINT_IDS.iter().find(|(standard, _)| *standard == name).map(|(_, id)| *id)
}

/// The characteristic UUID esp_prov computes for ESP-IDF v3.2 firmware, which has no 0x2901
/// descriptors (docs/protocol.md §5.1.3 step 4): the service's first group with its low 16 bits
/// replaced by `id AND <those 16 bits>`. For the legacy service `0000ffff-…` this is
/// `0000ff51-…` for `prov-session`.
pub fn legacy_characteristic_uuid(service_uuid: &str, id: u16) -> Result<String, InvalidUuid> {
    let canonical = normalize_uuid(service_uuid)?;
    let low = u16::from_str_radix(&canonical[4..8], 16).map_err(|_| InvalidUuid(service_uuid.to_owned()))?;
    Ok(format!("{}{:04x}{}", &canonical[..4], id & low, &canonical[8..]))
}

/// The endpoint name a 0x2901 descriptor value carries: ASCII, exactly the name's bytes. Trailing
/// NULs are tolerated; anything that is not printable ASCII gives `None` (not an endpoint).
pub fn endpoint_name_from_description(value: &[u8]) -> Option<String> {
    let end = value.iter().rposition(|&b| b != 0).map_or(0, |last| last + 1);
    let name = &value[..end];
    if name.is_empty() || !name.iter().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    std::str::from_utf8(name).ok().map(str::to_owned)
}

/// Builds `endpoint name -> characteristic` from each characteristic and the value of its 0x2901
/// descriptor (docs/protocol.md §5.1.3 step 3). Characteristics without a usable name are skipped;
/// when two carry the same name, the first one is kept (the device never produces either).
pub fn endpoint_map<C>(described: impl IntoIterator<Item = (C, Vec<u8>)>) -> HashMap<String, C> {
    let mut map = HashMap::new();
    for (characteristic, description) in described {
        match endpoint_name_from_description(&description) {
            Some(name) => match map.entry(name) {
                Entry::Occupied(entry) => {
                    log::debug!(
                        "gatt: a second characteristic describes itself as `{}`; keeping the first",
                        entry.key()
                    );
                }
                Entry::Vacant(entry) => {
                    entry.insert(characteristic);
                }
            },
            None => log::debug!("gatt: skipping a characteristic whose description is not an endpoint name"),
        }
    }
    map
}

/// Which advertised device names a scan accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameFilter {
    /// Names starting with this prefix (default `PROV_`). Case-sensitive, as the mobile
    /// libraries compare.
    Prefix(String),
    /// Exactly this name (the `name` of a device's QR code).
    Exact(String),
}

impl Default for NameFilter {
    fn default() -> Self {
        Self::Prefix(DEFAULT_NAME_PREFIX.to_owned())
    }
}

impl NameFilter {
    /// Whether an advertised local name passes the filter.
    pub fn matches(&self, name: &str) -> bool {
        match self {
            Self::Prefix(prefix) => name.starts_with(prefix.as_str()),
            Self::Exact(expected) => name == expected,
        }
    }
}

/// Which advertisements a phone's scan accepts: the rule both phone adapters apply through
/// [`advertisement_matches`].
///
/// The name rule is `exact_name` when set (the `name` of the device's QR code; `name_prefix` is
/// then ignored), else `name_prefix` when set; names compare case-sensitively, as the mobile
/// libraries do. A device matches when its advertised name passes the name rule, **or** when
/// `service_uuids` is non-empty and the advertisement carries one of them (compared in canonical
/// form, so case and 16-bit short forms do not matter) — even without a matching name (firmware
/// with a custom device name). A filter with no name rule and no service UUID matches every
/// device. To find exactly the device of a QR code, set `exact_name` and leave `service_uuids`
/// empty.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct AdvertisementFilter {
    /// Accept names starting with this (default `PROV_`, [`DEFAULT_NAME_PREFIX`]).
    pub name_prefix: Option<String>,
    /// Accept exactly this name; takes precedence over `name_prefix`.
    pub exact_name: Option<String>,
    /// Also accept any device advertising one of these service UUIDs.
    pub service_uuids: Vec<String>,
}

impl Default for AdvertisementFilter {
    fn default() -> Self {
        Self { name_prefix: Some(DEFAULT_NAME_PREFIX.to_owned()), exact_name: None, service_uuids: Vec::new() }
    }
}

impl AdvertisementFilter {
    /// Whether an advertisement (local name, if any, and service UUIDs) passes the filter; see the
    /// type's documentation for the rule.
    pub fn matches(&self, name: Option<&str>, service_uuids: &[String]) -> bool {
        let name_rule = match (&self.exact_name, &self.name_prefix) {
            (Some(exact), _) => Some(NameFilter::Exact(exact.clone())),
            (None, Some(prefix)) => Some(NameFilter::Prefix(prefix.clone())),
            (None, None) => None,
        };
        let Some(name_rule) = name_rule else {
            return self.service_uuids.is_empty() || self.advertises_wanted_service(service_uuids);
        };
        name.is_some_and(|name| name_rule.matches(name)) || self.advertises_wanted_service(service_uuids)
    }

    fn advertises_wanted_service(&self, advertised: &[String]) -> bool {
        if self.service_uuids.is_empty() {
            return false;
        }
        let wanted: Vec<String> = self.service_uuids.iter().filter_map(|u| canonical_uuid(u).ok()).collect();
        advertised.iter().filter_map(|u| canonical_uuid(u).ok()).any(|u| wanted.contains(&u))
    }
}

/// Whether an advertisement with the local name `name` (if any) and the service UUIDs
/// `service_uuids` passes `filter` (the rule is on [`AdvertisementFilter`]). Pure: the phone
/// adapters call it for each scan result.
#[cfg_attr(feature = "uniffi", uniffi::export)]
pub fn advertisement_matches(filter: AdvertisementFilter, name: Option<String>, service_uuids: Vec<String>) -> bool {
    filter.matches(name.as_deref(), &service_uuids)
}

/// The service to use on a device: the first advertised UUID that the device also offers, else
/// the first fallback it offers. All UUIDs are compared in canonical form ([`canonical_uuid`]);
/// malformed ones are ignored.
pub fn pick_service_uuid(advertised: &[String], offered: &[String], fallbacks: &[String]) -> Option<String> {
    let canonical = |list: &[String]| -> Vec<String> { list.iter().filter_map(|u| canonical_uuid(u).ok()).collect() };
    let offered = canonical(offered);
    canonical(advertised).into_iter().chain(canonical(fallbacks)).find(|candidate| offered.contains(candidate))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const DEFAULT_ARRAY: [u8; 16] =
        [0x07, 0xed, 0x9b, 0x2d, 0x0f, 0x06, 0x7c, 0x87, 0x9b, 0x43, 0x43, 0x6b, 0x4d, 0x24, 0x75, 0x17];
    const EXAMPLE_ARRAY: [u8; 16] =
        [0xb4, 0xdf, 0x5a, 0x1c, 0x3f, 0x6b, 0xf4, 0xbf, 0xea, 0x4a, 0x82, 0x03, 0x04, 0x90, 0x1a, 0x02];

    /// docs/protocol.md §11.6, both columns.
    const TABLE: [(u16, &str, &str); 6] = [
        (0xFF4F, "1775ff4f-6b43-439b-877c-060f2d9bed07", "021aff4f-0382-4aea-bff4-6b3f1c5adfb4"),
        (0xFF50, "1775ff50-6b43-439b-877c-060f2d9bed07", "021aff50-0382-4aea-bff4-6b3f1c5adfb4"),
        (0xFF51, "1775ff51-6b43-439b-877c-060f2d9bed07", "021aff51-0382-4aea-bff4-6b3f1c5adfb4"),
        (0xFF52, "1775ff52-6b43-439b-877c-060f2d9bed07", "021aff52-0382-4aea-bff4-6b3f1c5adfb4"),
        (0xFF53, "1775ff53-6b43-439b-877c-060f2d9bed07", "021aff53-0382-4aea-bff4-6b3f1c5adfb4"),
        (0xFF54, "1775ff54-6b43-439b-877c-060f2d9bed07", "021aff54-0382-4aea-bff4-6b3f1c5adfb4"),
    ];

    #[test]
    fn firmware_arrays_are_the_reversed_strings() {
        assert_eq!(uuid_from_lsb_bytes(&DEFAULT_ARRAY), MANAGER_SERVICE_UUID);
        assert_eq!(uuid_from_lsb_bytes(&EXAMPLE_ARRAY), EXAMPLE_SERVICE_UUID);
        assert_eq!(uuid_to_lsb_bytes(MANAGER_SERVICE_UUID).unwrap(), DEFAULT_ARRAY);
        assert_eq!(uuid_to_lsb_bytes(&EXAMPLE_SERVICE_UUID.to_uppercase()).unwrap(), EXAMPLE_ARRAY);
    }

    #[test]
    fn characteristic_uuids_match_the_table() {
        for (id, default_column, example_column) in TABLE {
            assert_eq!(characteristic_uuid(MANAGER_SERVICE_UUID, id).unwrap(), default_column, "{id:#06x}");
            assert_eq!(characteristic_uuid(EXAMPLE_SERVICE_UUID, id).unwrap(), example_column, "{id:#06x}");
            assert_eq!(endpoint_id_of(default_column).unwrap(), id);
            assert_eq!(endpoint_id_of(example_column).unwrap(), id);
        }
        assert_eq!(standard_endpoint_id("prov-session"), Some(0xFF51));
        assert_eq!(standard_endpoint_id("proto-ver"), Some(0xFF53));
        assert_eq!(standard_endpoint_id("custom-data"), None);
    }

    #[test]
    fn malformed_uuids_are_rejected() {
        for bad in [
            "",
            "1775244d6b43439b877c060f2d9bed07",
            "1775244d-6b43-439b-877c-060f2d9bed0",
            "1775244d-6b43-439b-877c-060f2d9bed0g",
            "1775244d-6b43-439b-877c+060f2d9bed07",
            "1775244d-6b43-439b-877c-060f2d9bed07-",
            "1775244d-6b43-439b-877c-060f2d9béd0",
        ] {
            assert_eq!(uuid_to_lsb_bytes(bad), Err(InvalidUuid(bad.to_owned())), "{bad}");
            assert!(characteristic_uuid(bad, 0xFF51).is_err());
        }
    }

    #[test]
    fn legacy_uuids_follow_esp_prov() {
        assert_eq!(
            legacy_characteristic_uuid(LEGACY_SERVICE_UUID, 0xFF51).unwrap(),
            "0000ff51-0000-1000-8000-00805f9b34fb"
        );
        assert_eq!(
            legacy_characteristic_uuid(LEGACY_SERVICE_UUID, 0xFF53).unwrap(),
            "0000ff53-0000-1000-8000-00805f9b34fb"
        );
        // For a 128-bit service the AND keeps only the bits both have.
        assert_eq!(
            legacy_characteristic_uuid(MANAGER_SERVICE_UUID, 0xFF51).unwrap(),
            "17752441-6b43-439b-877c-060f2d9bed07"
        );
    }

    #[test]
    fn endpoint_map_uses_descriptions() {
        let map = endpoint_map(vec![
            (1, b"prov-session".to_vec()),
            (2, b"proto-ver".to_vec()),
            (3, b"custom-data\0".to_vec()),
            (4, vec![0xff, 0xfe]),
            (5, Vec::new()),
            (6, b"prov-session".to_vec()),
            (7, b"has space".to_vec()),
        ]);
        assert_eq!(map.len(), 3);
        assert_eq!(map.get("prov-session"), Some(&1));
        assert_eq!(map.get("proto-ver"), Some(&2));
        assert_eq!(map.get("custom-data"), Some(&3));
        assert_eq!(endpoint_name_from_description(b"prov-config"), Some("prov-config".to_owned()));
        assert_eq!(endpoint_name_from_description(b"\0"), None);
    }

    #[test]
    fn name_filters() {
        let prefix = NameFilter::default();
        assert!(prefix.matches("PROV_1A2B3C"));
        assert!(prefix.matches("PROV_1a2b3c"));
        assert!(!prefix.matches("prov_1a2b3c"));
        assert!(!prefix.matches("Headphones"));
        assert!(!prefix.matches(""));
        let exact = NameFilter::Exact("PROV_1a2b3c".into());
        assert!(exact.matches("PROV_1a2b3c"));
        assert!(!exact.matches("PROV_1a2b3c0"));
        assert!(!exact.matches("PROV_1A2B3C"));
    }

    #[test]
    fn service_choice_prefers_the_advertised_uuid() {
        let offered = vec![
            "00001801-0000-1000-8000-00805f9b34fb".to_owned(),
            MANAGER_SERVICE_UUID.to_owned(),
            EXAMPLE_SERVICE_UUID.to_uppercase(),
        ];
        let fallbacks = vec![EXAMPLE_SERVICE_UUID.to_owned(), MANAGER_SERVICE_UUID.to_owned()];
        assert_eq!(
            pick_service_uuid(&[MANAGER_SERVICE_UUID.to_uppercase()], &offered, &fallbacks).as_deref(),
            Some(MANAGER_SERVICE_UUID)
        );
        assert_eq!(pick_service_uuid(&[], &offered, &fallbacks).as_deref(), Some(EXAMPLE_SERVICE_UUID));
        let unknown_advert = vec!["not-a-uuid".to_owned(), "0000180f-0000-1000-8000-00805f9b34fb".to_owned()];
        assert_eq!(
            pick_service_uuid(&unknown_advert, &offered[..2], &fallbacks).as_deref(),
            Some(MANAGER_SERVICE_UUID)
        );
        assert_eq!(pick_service_uuid(&[], &offered[..1], &fallbacks), None);
        // CoreBluetooth prints assigned numbers in their short form.
        assert_eq!(
            pick_service_uuid(&["FFFF".to_owned()], &[LEGACY_SERVICE_UUID.to_uppercase()], &[]).as_deref(),
            Some(LEGACY_SERVICE_UUID)
        );
    }

    #[test]
    fn short_uuids_expand_onto_the_base_uuid() {
        assert_eq!(canonical_uuid("2901").unwrap(), USER_DESCRIPTION_UUID);
        assert_eq!(canonical_uuid("0x2901").unwrap(), USER_DESCRIPTION_UUID);
        assert_eq!(canonical_uuid("0000FFFF").unwrap(), LEGACY_SERVICE_UUID);
        assert_eq!(canonical_uuid(&MANAGER_SERVICE_UUID.to_uppercase()).unwrap(), MANAGER_SERVICE_UUID);
        for bad in ["", "290", "29011", "0x", "zzzz", "0x0x2901", "ffff-"] {
            assert!(canonical_uuid(bad).is_err(), "{bad}");
        }
    }

    fn matches(filter: &AdvertisementFilter, name: Option<&str>, services: &[&str]) -> bool {
        advertisement_matches(
            filter.clone(),
            name.map(str::to_owned),
            services.iter().map(|s| (*s).to_owned()).collect(),
        )
    }

    #[test]
    fn advertisement_filter_defaults_to_the_prov_prefix() {
        let filter = AdvertisementFilter::default();
        assert_eq!(filter.name_prefix.as_deref(), Some(DEFAULT_NAME_PREFIX));
        assert!(matches(&filter, Some("PROV_1a2b3c"), &[]));
        assert!(matches(&filter, Some("PROV_1A2B3C"), &[EXAMPLE_SERVICE_UUID]));
        assert!(!matches(&filter, Some("prov_1a2b3c"), &[]), "case-sensitive");
        assert!(!matches(&filter, Some("Headphones"), &[EXAMPLE_SERVICE_UUID]), "no service rule by default");
        assert!(!matches(&filter, None, &[EXAMPLE_SERVICE_UUID]));
    }

    #[test]
    fn the_exact_name_wins_over_the_prefix() {
        let filter = AdvertisementFilter { exact_name: Some("PROV_1a2b3c".into()), ..AdvertisementFilter::default() };
        assert!(matches(&filter, Some("PROV_1a2b3c"), &[]));
        assert!(!matches(&filter, Some("PROV_999999"), &[]), "the prefix no longer applies");
        assert!(!matches(&filter, Some("PROV_1a2b3c0"), &[]));
        assert!(!matches(&filter, None, &[]));
    }

    #[test]
    fn an_advertised_service_matches_without_a_name() {
        let filter = AdvertisementFilter {
            service_uuids: vec![MANAGER_SERVICE_UUID.to_uppercase(), "not-a-uuid".into()],
            ..AdvertisementFilter::default()
        };
        assert!(matches(&filter, Some("Thermostat"), &[MANAGER_SERVICE_UUID]));
        assert!(matches(&filter, None, &["180F", MANAGER_SERVICE_UUID]));
        assert!(matches(&filter, Some("PROV_1a2b3c"), &[]), "the name rule still applies");
        assert!(!matches(&filter, Some("Thermostat"), &[EXAMPLE_SERVICE_UUID, "not-a-uuid"]));
        let short = AdvertisementFilter { service_uuids: vec!["ffff".into()], ..AdvertisementFilter::default() };
        assert!(matches(&short, None, &[LEGACY_SERVICE_UUID]));
        // With the exact name too: either rule.
        let both = AdvertisementFilter {
            exact_name: Some("PROV_1a2b3c".into()),
            service_uuids: vec![EXAMPLE_SERVICE_UUID.into()],
            ..AdvertisementFilter::default()
        };
        assert!(matches(&both, Some("PROV_1a2b3c"), &[]));
        assert!(matches(&both, Some("PROV_other"), &[EXAMPLE_SERVICE_UUID]));
        assert!(!matches(&both, Some("PROV_other"), &[]));
    }

    #[test]
    fn a_filter_without_a_name_rule() {
        let any = AdvertisementFilter { name_prefix: None, exact_name: None, service_uuids: Vec::new() };
        assert!(matches(&any, None, &[]), "no criterion: every device");
        assert!(matches(&any, Some("Headphones"), &[]));
        let by_service = AdvertisementFilter { service_uuids: vec![EXAMPLE_SERVICE_UUID.into()], ..any };
        assert!(matches(&by_service, None, &[EXAMPLE_SERVICE_UUID]));
        assert!(!matches(&by_service, Some("PROV_1a2b3c"), &[MANAGER_SERVICE_UUID]));
    }
}
