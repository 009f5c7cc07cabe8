//! Known-answer tests of the security layer: the four golden transcripts (tests/vectors, recorded
//! between Espressif's device code and esp_prov) replayed byte for byte on the phone side and on
//! the device side, plus the derived vectors of docs/protocol.md §11.1–§11.4.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a test failure

mod common;

use std::sync::Arc;

use common::ScriptedRng;
use rainmaker_prov::security::{
    ClientHandshake, ClientStep, Credentials, DeviceSecurityConfig, DeviceSecuritySession, Sec2Patch, SecurityError,
    SecurityLevel, SessionCipher, generate_salt_verifier, sec1, sec2_inner_hash_has_leading_zero, srp,
};
use serde_json::Value;
use sha2::{Digest, Sha256};

// ---------------------------------------------------------------- helpers

fn h(s: &str) -> Vec<u8> {
    let clean: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    hex::decode(clean).unwrap()
}

fn load(name: &str) -> Value {
    let path = format!("{}/../tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn secret(t: &Value, key: &str) -> Vec<u8> {
    h(t["secrets"][key].as_str().unwrap_or_else(|| panic!("secret {key}")))
}

fn secret_str(t: &Value, key: &str) -> String {
    t["secrets"][key].as_str().unwrap().to_string()
}

fn steps(t: &Value) -> &Vec<Value> {
    t["steps"].as_array().unwrap()
}

fn body(step: &Value, side: &str) -> Vec<u8> {
    h(step[side]["body_hex"].as_str().unwrap())
}

fn session_steps(t: &Value) -> Vec<&Value> {
    steps(t).iter().filter(|s| s["endpoint"] == "prov-session").collect()
}

/// The encrypted application exchanges (every step with a plaintext).
fn data_steps(t: &Value) -> Vec<&Value> {
    steps(t).iter().filter(|s| s["request"].get("plaintext_hex").is_some()).collect()
}

fn check_position(cipher: &SessionCipher, msg: &Value) {
    if let Some(off) = msg.get("ctr_keystream_offset") {
        assert_eq!(cipher.ctr_offset(), Some(off.as_u64().unwrap()), "CTR offset");
    }
    if let Some(nonce) = msg.get("gcm_nonce_hex") {
        assert_eq!(cipher.next_gcm_nonce(), Some(h(nonce.as_str().unwrap())), "GCM nonce");
    }
}

/// Phone side: produce every recorded handshake request, then encrypt every request plaintext to
/// the recorded body and decrypt every recorded response body to its plaintext.
fn replay_phone(t: &Value, creds: Credentials, mut rng: ScriptedRng) {
    let session = session_steps(t);
    let (mut hs, mut request) = ClientHandshake::start(creds, &mut rng).unwrap();
    let mut cipher = None;
    for (i, step) in session.iter().enumerate() {
        assert_eq!(hs.step() as usize, i + 1);
        assert_eq!(hex::encode(&request), hex::encode(body(step, "request")), "handshake request {}", i + 1);
        match hs.on_response(&body(step, "response")).unwrap() {
            ClientStep::Send(next, req) => {
                hs = next;
                request = req;
            }
            ClientStep::Done(c) => {
                assert_eq!(i + 1, session.len(), "handshake finished early");
                cipher = Some(c);
                break;
            }
        }
    }
    rng.assert_drained();
    let mut cipher = cipher.expect("handshake did not finish");
    let data = data_steps(t);
    assert!(data.len() >= 10, "expected the whole provisioning flow");
    for step in data {
        check_position(&cipher, &step["request"]);
        let plain = h(step["request"]["plaintext_hex"].as_str().unwrap());
        assert_eq!(
            hex::encode(cipher.encrypt(&plain).unwrap()),
            hex::encode(body(step, "request")),
            "{}",
            step["label"]
        );
        check_position(&cipher, &step["response"]);
        let expected = h(step["response"]["plaintext_hex"].as_str().unwrap());
        assert_eq!(cipher.decrypt(&body(step, "response")).unwrap(), expected, "{}", step["label"]);
    }
}

/// Device side: answer every recorded handshake request with the recorded response, then decrypt
/// every request body to its plaintext and encrypt every response plaintext to the recorded body.
fn replay_device(t: &Value, config: DeviceSecurityConfig, mut rng: ScriptedRng) {
    let mut dev = DeviceSecuritySession::new(Arc::new(config));
    let level = dev.level();
    if level != SecurityLevel::Sec0 {
        assert!(!dev.is_established());
        assert_eq!(dev.decrypt(b"x"), Err(SecurityError::NotEstablished));
        assert_eq!(dev.encrypt(b"x"), Err(SecurityError::NotEstablished));
    }
    for step in session_steps(t) {
        let response = dev.handle(&body(step, "request"), &mut rng).unwrap();
        assert_eq!(hex::encode(response), hex::encode(body(step, "response")), "{}", step["label"]);
    }
    rng.assert_drained();
    assert!(dev.is_established());
    for step in data_steps(t) {
        let plain = dev.decrypt(&body(step, "request")).unwrap();
        assert_eq!(hex::encode(plain), step["request"]["plaintext_hex"].as_str().unwrap(), "{}", step["label"]);
        let resp = h(step["response"]["plaintext_hex"].as_str().unwrap());
        assert_eq!(hex::encode(dev.encrypt(&resp).unwrap()), hex::encode(body(step, "response")), "{}", step["label"]);
    }
}

// ---------------------------------------------------------------- transcripts

#[test]
fn sec0_transcript_phone_and_device() {
    let t = load("sec0.json");
    assert_eq!(session_steps(&t).len(), 1);
    replay_phone(&t, Credentials::Sec0, ScriptedRng::new(&[]));
    replay_device(&t, DeviceSecurityConfig::Sec0, ScriptedRng::new(&[]));
}

#[test]
fn sec1_transcript_phone_and_device() {
    let t = load("sec1.json");
    let pop = secret_str(&t, "pop");
    let client_draw = h(t["rng"]["client_draws"][0]["hex"].as_str().unwrap());
    assert_eq!(client_draw, secret(&t, "client_private_key"));
    replay_phone(&t, Credentials::Sec1 { pop: Some(pop.as_str().into()) }, ScriptedRng::new(&[&client_draw]));
    let device_draws = [secret(&t, "device_private_key"), secret(&t, "device_random_ctr_iv")];
    replay_device(
        &t,
        DeviceSecurityConfig::Sec1 { pop: Some(pop.as_str().into()) },
        ScriptedRng::new(&[&device_draws[0], &device_draws[1]]),
    );
}

#[test]
fn sec1_transcript_intermediates() {
    let t = load("sec1.json");
    let pop = secret_str(&t, "pop");
    assert_eq!(Sha256::digest(pop.as_bytes()).to_vec(), secret(&t, "pop_sha256"));
    let cpriv: [u8; 32] = secret(&t, "client_private_key").try_into().unwrap();
    let dpriv: [u8; 32] = secret(&t, "device_private_key").try_into().unwrap();
    let cpub = x25519_dalek::x25519(cpriv, x25519_dalek::X25519_BASEPOINT_BYTES);
    let dpub = x25519_dalek::x25519(dpriv, x25519_dalek::X25519_BASEPOINT_BYTES);
    assert_eq!(cpub.to_vec(), secret(&t, "client_public_key"));
    assert_eq!(dpub.to_vec(), secret(&t, "device_public_key"));
    let shared = x25519_dalek::x25519(cpriv, dpub);
    assert_eq!(shared.to_vec(), secret(&t, "x25519_shared_secret"));
    assert_eq!(sec1::session_key(&shared, Some(pop.as_bytes())).to_vec(), secret(&t, "aes256_ctr_key"));
}

fn sec2_transcript(file: &str, patch: Sec2Patch) {
    let t = load(file);
    let username = secret_str(&t, "username");
    let password = secret_str(&t, "password");
    let client_draw = h(t["rng"]["client_draws"][0]["hex"].as_str().unwrap());
    assert_eq!(client_draw[0] & 0x7f, secret(&t, "client_a")[0] & 0x7f);
    assert_ne!(client_draw, secret(&t, "client_a"), "the raw draw differs from the used a in the top bit");
    replay_phone(
        &t,
        Credentials::Sec2 { username: username.clone(), password: password.as_str().into() },
        ScriptedRng::new(&[&client_draw]),
    );
    let nonce = secret(&t, "device_nonce");
    let nonce_draw = match patch {
        Sec2Patch::Patch1 => {
            assert_eq!(nonce.len(), 12);
            assert_eq!(nonce[8..], [0, 0, 0, 1]);
            nonce[..8].to_vec()
        }
        Sec2Patch::Patch0 => {
            assert_eq!(nonce.len(), 16);
            nonce.clone()
        }
    };
    let config = DeviceSecurityConfig::sec2(secret(&t, "salt"), secret(&t, "verifier"), patch);
    replay_device(&t, config, ScriptedRng::new(&[&secret(&t, "device_b"), &nonce_draw]));

    // The provisioning-time salt draw reproduces the recorded salt and verifier.
    let salt_draw = h(t["rng"]["device_draws"][0]["hex"].as_str().unwrap());
    let mut rng = ScriptedRng::new(&[&salt_draw]);
    let (salt, verifier) = generate_salt_verifier(&username, password.as_bytes(), &mut rng);
    assert_eq!(salt, secret(&t, "salt"));
    assert_eq!(verifier, secret(&t, "verifier"));

    // Every intermediate value.
    let a: [u8; 32] = secret(&t, "client_a").try_into().unwrap();
    let b: [u8; 32] = secret(&t, "device_b").try_into().unwrap();
    let big_a = srp::client_public(&a);
    assert_eq!(big_a.to_vec(), secret(&t, "client_A"));
    let v = srp::Verifier::new(secret(&t, "verifier"));
    let big_b = srp::device_public(&b, &v).unwrap();
    assert_eq!(big_b, secret(&t, "device_B"));
    assert_eq!(srp::k().to_vec(), secret(&t, "k"));
    let inner = srp::inner_hash(username.as_bytes(), password.as_bytes());
    let x = srp::compute_x(&salt, &inner, false);
    assert_eq!(x.to_vec(), secret(&t, "x"));
    assert_eq!(srp::verifier_from_x(&x), v.as_bytes());
    let u = srp::compute_u(&big_a, &big_b).unwrap();
    assert_eq!(u.to_vec(), secret(&t, "u"));
    let s_client = srp::client_premaster(&big_b, &x, &a, &u).unwrap();
    let s_device = srp::device_premaster(&big_a, &v, &u, &b).unwrap();
    assert_eq!(s_client.to_vec(), secret(&t, "S"));
    assert_eq!(s_device.to_vec(), secret(&t, "S"));
    let k = srp::session_key(&s_client);
    assert_eq!(k.to_vec(), secret(&t, "K_session_key_sha512_of_S"));
    assert_eq!(k[..32].to_vec(), secret(&t, "aes256_gcm_key"));
    let m1 = srp::client_proof(username.as_bytes(), &salt, &big_a, &big_b, &k);
    assert_eq!(m1.to_vec(), secret(&t, "M_client_proof"));
    assert_eq!(srp::device_proof(&big_a, &m1, &k).to_vec(), secret(&t, "H_AMK_device_proof"));
}

#[test]
fn sec2_patch1_transcript_phone_and_device() {
    sec2_transcript("sec2.json", Sec2Patch::Patch1);
}

#[test]
fn sec2_patch0_transcript_phone_and_device() {
    sec2_transcript("sec2_patch0.json", Sec2Patch::Patch0);
}

// ---------------------------------------------------------------- docs/protocol.md §11.1, §11.2

const N_HEX: &str = "
ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74
020bbea63b139b22514a08798e3404ddef9519b3cd3a431b302b0a6df25f1437
4fe1356d6d51c245e485b576625e7ec6f44c42e9a637ed6b0bff5cb6f406b7ed
ee386bfb5a899fa5ae9f24117c4b1fe649286651ece45b3dc2007cb8a163bf05
98da48361c55d39a69163fa8fd24cf5f83655d23dca3ad961c62f356208552bb
9ed529077096966d670c354e4abc9804f1746c08ca18217c32905e462e36ce3b
e39e772c180e86039b2783a2ec07a28fb5c55df06f4c52c9de2bcbf695581718
3995497cea956ae515d2261898fa051015728e5a8aaac42dad33170d04507a33
a85521abdf1cba64ecfb850458dbef0a8aea71575d060c7db3970f85a6e1e4c7
abf5ae8cdb0933d71e8c94e04a25619dcee3d2261ad2ee6bf12ffa06d98a0864
d87602733ec86a64521f2b18177b200cbbe117577a615d6c770988c0bad946e2
08e24fa074e5ab3143db5bfce0fd108e4b82d120a93ad2caffffffffffffffff";

#[test]
fn group_constants_11_1() {
    assert_eq!(srp::modulus().to_vec(), h(N_HEX));
    assert_eq!(
        hex::encode(Sha256::digest(srp::modulus())),
        "48cf8b092fbce4359d9871abf74f98e25b6163379eaa15cd9087e800c6d1c55c"
    );
    assert_eq!(srp::generator(), 5);
    assert_eq!(
        srp::k().to_vec(),
        h("a9c2e2559bf0ebb53f0cbbf62282906bede7f2182f00678211fbd5bde5b28503
           3a4993503b87397f9be5ec02080fedbc0835587ad039060879b8621e8c3659e0")
    );
    assert_eq!(
        srp::hash_n_xor_hash_pad_g().to_vec(),
        h("dad76ed5365ed7bf6bbc1bfa050981458392bbd35a50335d03db3c7535b261d1
           c902f2ffb8647125bd28ce966c066d5be9b939216c6078b65889299c61624694")
    );
}

const SALT_11_2: &str = "036ee0c7bcb9eda84c9eac97d93decf4";
const VERIFIER_11_2: &str = "
7c7c85476508946dd636af37d7e8914378cffd616c59d2f83908127238de9e24
a470261cdfa903c2b270e7b13224da111d9718dc607208cc9ac90c4827e2ae89
aa1625b804d21a9b3a8f37f6e43a712ee127866eadce28ff5446601fb99687dc
5740a7d46cc97754dc1682f0ed356ac470ad3d90b5819470d7bc65b2d518e02e
c3a5f968dd647bb8b73c9cfc00d8717eb79a7cb1b7c2c318342932433e0099e9
8294e3d82ab09629b7df0e5f08334076529132009f972c896c391ec828054417
3f68028a9f4461d1f5a17e5a70d2c72381cb3868e42c20bc40577617bd08b896
bc26eb32466935058c1570d91be9becca938a667f0ad5013197264bf52c234e2
1b11797472bd345bb1e2fd6673fe716474d04ebc51241940870e9240e621e72d
4e37762f2ee268c789e8321342068484534ab30c1b4c8d1c519719abae77ffdb
ecf0109534336bcb3e840fb9d85fb8a0b855533e70f718f5ce7b4ebf27cecea8
b3be40c5c532293e71649ede8cf675a1e6f653c831a878de5040f762de36b2ba";

#[test]
fn example_salt_verifier_11_2() {
    let inner = srp::inner_hash(b"wifiprov", b"abcd1234");
    assert_eq!(
        inner.to_vec(),
        h("714242d85f632d879099ff6ad0a090f2ea6da5af6b1b24cd2326ac73472f97e9
           5ab9b2c537cbae0ea5ef10e3849b616269a3fadf8e193745008648e2efb01447")
    );
    let x = srp::compute_x(&h(SALT_11_2), &inner, false);
    assert_eq!(
        x.to_vec(),
        h("869b97a7399bdc2e9e2943dbf1f5347a10108ea60e278cafb5849aa0c14f6b73
           5aa186d260e779838af03d4393961086dabe3321c01c58672f186b698f83314a")
    );
    assert_eq!(srp::verifier_from_x(&x), h(VERIFIER_11_2));
    assert_eq!(srp::compute_verifier(b"wifiprov", b"abcd1234", &h(SALT_11_2), false), h(VERIFIER_11_2));
    assert!(!sec2_inner_hash_has_leading_zero("wifiprov", b"abcd1234"));
}

// ---------------------------------------------------------------- docs/protocol.md §11.3

const A_11_3: &str = "
7adff9a1a617076c8942f4e034880f9ed18d5befd9f9723395a4181299d54f98
7cfc9e77ade619d948e26916e51a8f40dde8a4440d7a0c4fc2170c16a3e83686
19b61d740fa11c47d78cda8700331363c35efc701cd3c2be22e3459fa894b01f
52d56a0ee0a24f7e5bfd333fdfd602e8358620927da1578d2c8926a7e8472149
e19fd393840b09acbf50489f95d4d169a267c096d023abc6c1f8c9a74f5a93b1
ad0c4b97e8fc5316ab11487a0b78546ee14a564af9ea3a5bce1fe93e6d1da5b7
72db6c4e6457243fd13d5911f7935ecbeb1310499ece9b6122d326c7007a3360
8cd66f6289371209e6da5c7948f8eddd650064f9fb3510fae996a98ec2312ab1
f061ce8d04e49c7c2df6826615254a585acd3f3238f6435cfc5c51c5ba4799a2
2ae633c8af4def8939f17d04d9bced5eb8bca24ba6729d2fe89d8df4e2ea8ce6
763b57d6f0221758468957edbfb94223c0c2e33cfa2d9c8954343804205bcf92
b5e1f5d41eb4ea9fdd3155c6ab61cf4c3274d6d73505408f71780a8ed858e3a1";
const B_11_3: &str = "
fa51f894e0428134ceb31b364ee0efeb70617e0b6a3c70e17f1372c3edafb139
de1a86a9f48c22c0dbf5551939c1b262abcb1c3b60cc8fb1cf6cd831818cce0c
17b5459fb9c035a11e37c9b808624144a8362762116fc9c8e320d936929ee1cf
0e70dfa06a77d30d80a0d4a15375b964b2d2bfa09b15ec8b88680e2b4374b6ae
13877158be3665dd2cf9a2ae6ae4577075dbab5f31b943350488ae178448ef1f
520718d5d994ecad31967bd580dcc779ca51ed1178f2dbe1837b81d82b05b3ee
87f49e0a62f70671e3afdb114f920c98570c4d1fe86c2febaf1319d3ef95c1db
6c694b987f9370d783209e9fdbbe5d87138d8b02931f8ed0237adae74f9061bb
304b688e11422136588b6f23bf23574c2591428c14fa458f90bc6bdd70007870
4d05741277c72088b48339729a81c55ac6d06b24078f0cf5c6060429588daac4
09176f34a2af82302c06991e14a1f0979e3d159d74d661b2bae07ae7b776236f
1d1a0310741a3867f47c78f88f1d2899a1b14e5b84341f6d124bcfce6077a277";
const U_11_3: &str = "
def4fd249c3c304b4bebc0ca257e6997fe9f656ed8b95e5677e944e7ad3af126
874d15a8717367adde3d9190b35486b4949e9269b63ac396b1b3866c0d2cc42c";
const S_11_3: &str = "
c9ff00ae9859da92854b534b4b59122c5ca65e04138d691dc8ab790ef1db8f69
90b838c4be979a6b105260c3c186961cf230fca326cfa9d51d2f39929af7eac3
2abc685179690ebf908c442d4a544dbc85b0f0ae5fc80feea0219952adca2b2e
3a905dd8936b9a75448dbbf0ae36510480756b959d3fd2910e7be098234cc6ed
8fa12694cb8e6cdf580abfcea194543a815d7cc8b288fccbc6a6ed63a9f6f753
6cbd6ee9f77bc40ab05735b9ac19cb608133334ce1acb28b30a0bfb73b56b3ab
d65ae8718d0b40b73bdc17438b687cfac82f8bf67ac25b16c5dbb819d2243c38
ab651f09e231fb64ce0cb155ad68de40b801561bb973b55b173b8b88bbd07a51
5a69d9cb1ce3c5e4aee40946875c7e3a88e81a4e6070f7c9087d46a98b9b445f
cd3beea636bd291b77287439a049c75bafd676a1bee613fbb67de11d68251c4e
10ad470a880562a4546ad51cd897178432de739052e7fcb340e9e971934037cc
b94fde3cb2d3dc36ad71d27124e840bcaa5127fc696d9eaf8b95888d08fb23cd";
const K_11_3: &str = "
23e31fc7a4f5e384f393724e0687d6333d0b8a596915ba53cc49e4470a9d8adc
19c92dec1d8635a4a140dbb980fa5f259d5bf8e85a91749bb244d1db66e88ac0";
const M1_11_3: &str = "
0396d83d9e284c181007b8087bd5c8abeba32e9f59aeecde0b4fc0ab28f693eb
50f17239faddae16db2a3f6a56610421901286db3bb0231629da67402f67c9bb";
const M2_11_3: &str = "
d73f71729401cacf621ec13dbc24b0629b89bf23146bae823d58bd81d968440f
d2cf4c1dfe7cd65d2478a84cc864620b419b6cf01108de55e87c2fb943c829c4";

#[test]
fn sec2_fixed_ephemerals_values_11_3() {
    let a = [0xa5u8; 32];
    let b = [0x5bu8; 32];
    let salt = h(SALT_11_2);
    let v = srp::Verifier::new(h(VERIFIER_11_2));
    let big_a = srp::client_public(&a);
    assert_eq!(big_a.to_vec(), h(A_11_3));
    let big_b = srp::device_public(&b, &v).unwrap();
    assert_eq!(big_b, h(B_11_3));
    let u = srp::compute_u(&big_a, &big_b).unwrap();
    assert_eq!(u.to_vec(), h(U_11_3));
    let x = srp::compute_x(&salt, &srp::inner_hash(b"wifiprov", b"abcd1234"), false);
    let s = srp::client_premaster(&big_b, &x, &a, &u).unwrap();
    assert_eq!(s.to_vec(), h(S_11_3));
    assert_eq!(srp::device_premaster(&big_a, &v, &u, &b).unwrap().to_vec(), h(S_11_3));
    let k = srp::session_key(&s);
    assert_eq!(k.to_vec(), h(K_11_3));
    let m1 = srp::client_proof(b"wifiprov", &salt, &big_a, &big_b, &k);
    assert_eq!(m1.to_vec(), h(M1_11_3));
    assert_eq!(srp::device_proof(&big_a, &m1, &k).to_vec(), h(M2_11_3));
}

/// Runs the §11.3 handshake through the public API on both sides and checks the framing.
fn sec2_fixed_session(patch: Sec2Patch, nonce_draw: &[u8]) -> (SessionCipher, DeviceSecuritySession) {
    let mut phone_rng = ScriptedRng::new(&[&[0xa5; 32]]);
    let mut dev_rng = ScriptedRng::new(&[&[0x5b; 32], nonce_draw]);
    let config = DeviceSecurityConfig::sec2(h(SALT_11_2), h(VERIFIER_11_2), patch);
    let mut dev = DeviceSecuritySession::new(Arc::new(config));
    let creds = Credentials::Sec2 { username: "wifiprov".into(), password: "abcd1234".into() };
    let (hs, cmd0) = ClientHandshake::start(creds, &mut phone_rng).unwrap();
    assert_eq!(cmd0.len(), 406);
    assert_eq!(cmd0, [h("1002629103a2018d030a087769666970726f76128003"), h(A_11_3)].concat());
    let resp0 = dev.handle(&cmd0, &mut dev_rng).unwrap();
    assert_eq!(resp0.len(), 416);
    assert_eq!(resp0, [h("1002629b030801aa019503128003"), h(B_11_3), h("1a10"), h(SALT_11_2)].concat());
    let ClientStep::Send(hs, cmd1) = hs.on_response(&resp0).unwrap() else { panic!("expected Command1") };
    assert_eq!(cmd1, [h("100262470802b201420a40"), h(M1_11_3)].concat());
    let resp1 = dev.handle(&cmd1, &mut dev_rng).unwrap();
    let expected_resp1 = match patch {
        Sec2Patch::Patch1 => {
            [h("100262550803ba01501240"), h(M2_11_3), h("1a0c"), h("112233445566778800000001")].concat()
        }
        Sec2Patch::Patch0 => [h("100262590803ba01541240"), h(M2_11_3), h("1a10"), nonce_draw.to_vec()].concat(),
    };
    assert_eq!(resp1, expected_resp1);
    let ClientStep::Done(cipher) = hs.on_response(&resp1).unwrap() else { panic!("expected Done") };
    phone_rng.assert_drained();
    dev_rng.assert_drained();
    (cipher, dev)
}

#[test]
fn sec2_fixed_ephemerals_session_patch1_11_3() {
    let (mut phone, mut dev) = sec2_fixed_session(Sec2Patch::Patch1, &h("1122334455667788"));
    assert_eq!(phone.next_gcm_nonce(), Some(h("112233445566778800000001")));
    let req = phone.encrypt(&h("5200")).unwrap();
    assert_eq!(hex::encode(&req), "4c5a2dee38cacbbb4787f8c83d6f5f05502c");
    assert_eq!(dev.decrypt(&req).unwrap(), h("5200"));
    let resp = dev.encrypt(&h("08015a021001")).unwrap();
    assert_eq!(hex::encode(&resp), "b0c499423f61492a3b9078edaa7c2d4e556b194252ca");
    assert_eq!(phone.decrypt(&resp).unwrap(), h("08015a021001"));
    assert_eq!(phone.next_gcm_nonce(), Some(h("112233445566778800000003")));
}

#[test]
fn sec2_fixed_ephemerals_session_patch0_11_3() {
    let nonce = h("00112233445566778899aabbccddeeff");
    let (mut phone, mut dev) = sec2_fixed_session(Sec2Patch::Patch0, &nonce);
    assert_eq!(phone.sec2_patch(), Some(Sec2Patch::Patch0));
    let req = phone.encrypt(&h("5200")).unwrap();
    assert_eq!(hex::encode(&req), "ceedcd5011199ba1af5f2fd560a298459bb7");
    assert_eq!(dev.decrypt(&req).unwrap(), h("5200"));
    let resp = dev.encrypt(&h("08015a021001")).unwrap();
    assert_eq!(hex::encode(&resp), "94eca50910f84471d3502a4dee83f00afeb0483db497");
    assert_eq!(phone.decrypt(&resp).unwrap(), h("08015a021001"));
    assert_eq!(phone.next_gcm_nonce(), Some(nonce));
}

// ---------------------------------------------------------------- docs/protocol.md §11.4

#[test]
fn sec1_fixed_keys_11_4() {
    let cpriv = h("0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20");
    let dpriv = h("4142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f60");
    let drandom = h("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
    let shared: [u8; 32] = h("26c2c17fdb82161cb21ad16e721315355b64d1763119b10bfc962530dc7cc163").try_into().unwrap();
    assert_eq!(
        hex::encode(sec1::session_key(&shared, Some(b"abcd1234")).as_slice()),
        "cf0c266562b0ebf4d1295c66cc5efceab8fa713f8cb6024932f3bbf59977a8cd"
    );
    assert_eq!(
        hex::encode(Sha256::digest(b"abcd1234")),
        "e9cee71ab932fde863338d08be4de9dfe39ea049bdafb342ce659ec5450b69ae"
    );

    let mut phone_rng = ScriptedRng::new(&[&cpriv]);
    let mut dev_rng = ScriptedRng::new(&[&dpriv, &drandom]);
    let mut dev = DeviceSecuritySession::new(Arc::new(DeviceSecurityConfig::Sec1 { pop: Some("abcd1234".into()) }));
    let (hs, cmd0) =
        ClientHandshake::start(Credentials::Sec1 { pop: Some("abcd1234".into()) }, &mut phone_rng).unwrap();
    assert_eq!(
        hex::encode(&cmd0),
        "10015a25a201220a2007a37cbc142093c8b755dc1b10e86cb426374ad16aa853ed0bdfc0b2b86d1c7c"
    );
    let resp0 = dev.handle(&cmd0, &mut dev_rng).unwrap();
    assert_eq!(
        hex::encode(&resp0),
        "10015a390801aa0134122064b101b1d0be5a8704bd078f9895001fc03e8e9f9522f188dd128d9846d484661a10a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"
    );
    let ClientStep::Send(hs, cmd1) = hs.on_response(&resp0).unwrap() else { panic!("expected Command1") };
    assert_eq!(
        hex::encode(&cmd1),
        "10015a270802b201221220c4a89b1acc9f181421f27ada88e1d81b23233eedb4ad011f5b4f5eeac83ee6c9"
    );
    let resp1 = dev.handle(&cmd1, &mut dev_rng).unwrap();
    assert_eq!(
        hex::encode(&resp1),
        "10015a270803ba01221a2029a2e4c89371f5f6e4f0d90538f211db81918ef1eb68cea8db0bc6b0135214f8"
    );
    let ClientStep::Done(mut phone) = hs.on_response(&resp1).unwrap() else { panic!("expected Done") };
    phone_rng.assert_drained();
    dev_rng.assert_drained();
    assert_eq!(phone.ctr_offset(), Some(64));
    let req = phone.encrypt(&h("5200")).unwrap();
    assert_eq!(hex::encode(&req), "018f");
    assert_eq!(dev.decrypt(&req).unwrap(), h("5200"));
    let resp = dev.encrypt(&h("08015a021001")).unwrap();
    assert_eq!(hex::encode(&resp), "bd7e870688b4");
    assert_eq!(phone.decrypt(&resp).unwrap(), h("08015a021001"));
    assert_eq!(phone.ctr_offset(), Some(72));
}

// ---------------------------------------------------------------- §4.3.2 hazard 1

/// Verifier for `wifiprov` / `pw69` with salt `5a17c0de0badc0ffee00112233445566`, computed
/// independently with Python integers the way esp_prov's generator does it
/// (`x = SHA-512(salt || long_to_bytes(int(SHA-512("wifiprov:pw69"))))`, `v = pow(5, x, N)`).
const PW69_SALT: &str = "5a17c0de0badc0ffee00112233445566";
const PW69_STRIPPED_VERIFIER: &str = "
f4d4cd733b9c6d932dada4cd337707be6f5d2b3cf4102929d83cb596647beebed46204ef68963fed201b934be0b31783
101db1131beb7f23c9003e972b0028eb79d081bf136712a28785736c6d8b36f1b89f8acb5e2c24bf4c95dfc382eaebfd
10d88109768eb033deae7f52367fe143c1f1cbc9847a737b1f004515373ae322d2fe4304c90910f78e757f09007e2b95
521c43950b6068b7de0034f56b7c0030a0a9a5fae64878c111b3bb4df28e631ed6186a2865a7d4330b41692677c740ba
1c52544b8d403ba17b6e86af40d2b76c10b6a304c80c236069a726ad7def6b311372244a0cc6918b0967574d92f698ac
c1d2750326b15e6d8c5a91a01151b59c68ed59b1da009ffc70a762e90c7d4ae6dd8a50496f5e562f0fecc4ca5c50e151
9bc4476d77c575fd21b3c92db59434a26c0404dd76c376c4f637f088bd7ee4d2bb4f3449953dbf0aff1cb14fa65c4aa6
bed5e1b2e9e63194eedf0138bb9241e70fdbf3536f2d29916e581924490607501b080415908ec3523665596c793e5bbe";

#[test]
fn stripped_inner_hash_variant_pw69() {
    assert!(sec2_inner_hash_has_leading_zero("wifiprov", b"pw69"));
    assert_eq!(hex::encode(&srp::inner_hash(b"wifiprov", b"pw69")[..2]), "0019");
    let salt = h(PW69_SALT);
    let verifier = h(PW69_STRIPPED_VERIFIER);
    assert_eq!(srp::compute_verifier(b"wifiprov", b"pw69", &salt, true), verifier);
    assert_ne!(srp::compute_verifier(b"wifiprov", b"pw69", &salt, false), verifier);

    let config = Arc::new(DeviceSecurityConfig::sec2(salt, verifier, Sec2Patch::Patch1));
    let run = |creds: Credentials| -> Result<SessionCipher, SecurityError> {
        let mut rng = ScriptedRng::new(&[&[0x42; 32], &[0x17; 32], &[9; 8]]);
        let mut dev = DeviceSecuritySession::new(config.clone());
        let (hs, cmd0) = ClientHandshake::start(creds, &mut rng)?;
        let resp0 = dev.handle(&cmd0, &mut rng).map_err(|_| SecurityError::DeviceRejectedStep(1))?;
        let ClientStep::Send(hs, cmd1) = hs.on_response(&resp0)? else { panic!("expected Command1") };
        match dev.handle(&cmd1, &mut rng) {
            Ok(resp1) => match hs.on_response(&resp1)? {
                ClientStep::Done(c) => Ok(c),
                ClientStep::Send(..) => panic!("expected Done"),
            },
            Err(_) => Err(hs.on_rejected()),
        }
    };
    let plain = run(Credentials::Sec2 { username: "wifiprov".into(), password: "pw69".into() });
    assert_eq!(plain.unwrap_err(), SecurityError::WrongCredentials);
    let stripped = run(Credentials::Sec2Stripped { username: "wifiprov".into(), password: "pw69".into() });
    assert_eq!(stripped.unwrap().level(), SecurityLevel::Sec2);
}
