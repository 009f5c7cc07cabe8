// The Swift binding tests (scripts/swift-test.sh): a Swift ProvTransport forwarding to an
// in-process SimulatedDevice, driven through the async API. They test the glue (types, errors,
// callbacks, cancellation); the protocol itself is tested in Rust.
import Foundation
import RainmakerProv

let home = "RefPeer-Home"
let homePass = "secretpass"
/// `home` as the SSID bytes the core reports (`WifiNetwork.ssid`, `WifiConnectedInfo.ssid`).
let homeSsid = Data(home.utf8)

struct RadioOff: Error {}

/// Counts the exchanges of a transport.
actor Counter {
    private(set) var value = 0
    func increment() { value += 1 }
}

/// Signals once, to whoever waits (used to know a transport call is pending).
actor Flag {
    private var raised = false
    func raise() { raised = true }
    func wait() async { while !raised { try? await Task.sleep(nanoseconds: 1_000_000) } }
}

/// The app-side transport of these tests: forwards every exchange to a simulated device's
/// transport, counts them, and can be told to fail (throw) or hang on a given endpoint.
final class ForwardingTransport: ProvTransport, @unchecked Sendable {
    private let target: ProvTransport
    private let failOn: String?
    private let failure: Error
    private let hangOn: String?
    let hanging = Flag()
    let exchanges = Counter()

    init(_ device: SimulatedDevice, failOn: String? = nil, failure: Error = RadioOff(), hangOn: String? = nil) {
        target = device.transport()
        self.failOn = failOn
        self.failure = failure
        self.hangOn = hangOn
    }

    func send(endpoint: String, data: Data) async throws -> Data {
        await exchanges.increment()
        if endpoint == failOn { throw failure }
        if endpoint == hangOn {
            await hanging.raise()
            while true { try await Task.sleep(nanoseconds: 10_000_000) }
        }
        return try await target.send(endpoint: endpoint, data: data)
    }
    func maxPayload() -> UInt32 { 0 }
    func kind() -> TransportKind { .foreign }
    func disconnect() async throws { try await target.disconnect() }
}

final class RecordingListener: ProgressListener, @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [ProgressEvent] = []
    var events: [ProgressEvent] { lock.lock(); defer { lock.unlock() }; return recorded }
    func onProgress(event: ProgressEvent) { lock.lock(); recorded.append(event); lock.unlock() }
}

func sec1Device(pop: String = "abcd1234") throws -> SimulatedDevice {
    try SimulatedDevice(config: SimulatedDeviceConfig(security: .sec1, pop: pop, joinDelayMs: 50))
}

func sec2Device(password: String) throws -> SimulatedDevice {
    try SimulatedDevice(config: SimulatedDeviceConfig(security: .sec2, pop: password, username: "wifiprov", joinDelayMs: 50))
}

func options(_ pop: String?, min: SecurityLevel = .sec1) -> ProvOptions {
    ProvOptions(minSecurity: min, pop: pop)
}

func isCase(_ event: ProgressEvent, _ name: String) -> Bool {
    String(describing: event).hasPrefix(name)
}

let t = TestRunner()

await t.test("QR codes parse, and a malformed one is InvalidInput") {
    let qr = try parseQrCode(text: #"{"ver":"v1","name":"PROV_1A2B3C","pop":"abcd1234","transport":"softap"}"#)
    try checkEqual("PROV_1A2B3C", qr.name, "name")
    try checkEqual(QrTransport.softAp, qr.transport, "transport")
    try checkEqual("abcd1234", qr.pop, "pop")
    try check(!String(describing: qr).contains("abcd1234"), "description shows the PoP")
    let error = try await expectError("bad QR") { _ = try parseQrCode(text: "nonsense") }
    guard case ProvError.InvalidInput = error else { throw AssertionFailed(description: "got \(error)") }
}

await t.test("ProvOptions' description hides the PoP and the SRP password") {
    let options = ProvOptions(minSecurity: .sec2, pop: "abcd1234", sec2Password: "pw-s3cret")
    let text = String(describing: options)
    try check(!text.contains("abcd1234") && !text.contains("pw-s3cret"), "description shows a secret: \(text)")
    try check(text.contains("Sec2"), "description: \(text)")
}

await t.test("security 1: provision Wi-Fi end to end through a Swift transport, with progress") {
    let sim = try sec1Device()
    let transport = ForwardingTransport(sim)
    let listener = RecordingListener()
    let device = ProvDevice(transport: transport, options: options("abcd1234"))
    device.setProgressListener(listener: listener)
    let session = try await device.connect()
    try checkEqual(SecurityLevel.sec1, session.security, "security")
    let joined = try await device.provisionWifi(ssid: home, passphrase: homePass)
    try checkEqual(homeSsid, joined.ssid, "joined ssid")
    await device.disconnect()
    try checkEqual(home, sim.connectedSsid(), "device's ssid")
    let exchanges = await transport.exchanges.value
    try check(exchanges >= 5, "only \(exchanges) exchanges")
    let expected = ["readingCapabilities", "securityChosen", "handshaking", "sessionEstablished",
                    "sendingCredentials", "applying", "connected"]
    var seen: [String] = []
    for event in listener.events {
        if let name = expected.first(where: { isCase(event, $0) }), seen.last != name { seen.append(name) }
    }
    try checkEqual(expected, seen, "progress events")
}

await t.test("security 2: scan, send data and provision through a Swift transport") {
    let sim = try sec2Device(password: "s3cr3t-pass")
    let device = ProvDevice(transport: ForwardingTransport(sim), options: options("s3cr3t-pass", min: .sec2))
    try checkEqual(SecurityLevel.sec2, try await device.connect().security, "security")
    let networks = try await device.scanWifi()
    try check(networks.contains { $0.ssid == homeSsid }, "scan: \(networks.map { $0.ssidLossy() })")
    try checkEqual(Data("hello".utf8), try await device.sendData(endpoint: "custom-data", data: Data("hello".utf8)), "echo")
    try checkEqual(homeSsid, try await device.provisionWifi(ssid: home, passphrase: homePass).ssid, "joined")
    try checkEqual(home, sim.connectedSsid(), "device's ssid")
}

await t.test("wrong PoP gives ProvError.WrongCredentials") {
    for (sim, min) in [(try sec1Device(pop: "abcd1234"), SecurityLevel.sec1), (try sec2Device(password: "right"), .sec2)] {
        let device = ProvDevice(transport: ForwardingTransport(sim), options: options("not-the-pop-42", min: min))
        let error = try await expectError("connect") { _ = try await device.connect() }
        try checkEqual(ProvError.WrongCredentials, error as? ProvError, "error")
        // The description is the core's own message, and it holds no PoP.
        let text = String(describing: error)
        try check(text.hasPrefix("the device rejected the handshake proof"), "description: \(text)")
        try check(!text.contains("not-the-pop-42"), "description shows the PoP: \(text)")
    }
}

await t.test("an error thrown by the app's transport gives ProvError.Transport") {
    let device = ProvDevice(transport: ForwardingTransport(try sec1Device(), failOn: "prov-session"),
                            options: options("abcd1234"))
    let error = try await expectError("connect") { _ = try await device.connect() }
    guard case let ProvError.Transport(step, detail) = error else { throw AssertionFailed(description: "got \(error)") }
    try checkEqual(ProvStep.handshake, step, "step")
    try checkEqual("transport error during security handshake (prov-session): \(detail)", String(describing: error), "description")
    try checkEqual(String(describing: error), error.localizedDescription, "localizedDescription (what the README sample shows)")
}

await t.test("a typed TransportError from the app keeps its meaning") {
    let transport = ForwardingTransport(try sec1Device(), failOn: "proto-ver",
                                        failure: TransportError.Unreachable(detail: "not in range"))
    let error = try await expectError("connect") {
        _ = try await ProvDevice(transport: transport, options: options("abcd1234")).connect()
    }
    guard case let ProvError.Unreachable(step, detail) = error else { throw AssertionFailed(description: "got \(error)") }
    try checkEqual(ProvStep.readCapabilities, step, "step")
    try check(detail.contains("not in range"), "detail \(detail)")
}

await t.test("the logger receives the library's records, never the PoP") {
    final class Collect: Logger, @unchecked Sendable {
        private let lock = NSLock()
        private var records: [LogRecord] = []
        var all: [LogRecord] { lock.lock(); defer { lock.unlock() }; return records }
        func log(record: LogRecord) { lock.lock(); records.append(record); lock.unlock() }
    }
    let sink = Collect()
    setLogger(logger: sink)
    setMaxLogLevel(level: .debug)
    _ = try await ProvDevice.simulated(device: try sec1Device(), options: options("abcd1234")).connect()
    setLogger(logger: nil)
    try check(!sink.all.isEmpty, "no records")
    try check(sink.all.allSatisfy { $0.target.hasPrefix("rainmaker_prov") && !$0.message.contains("abcd1234") }, "records")
}

await t.test("CancelHandle.cancel() stops a pending call with ProvError.Cancelled") {
    let transport = ForwardingTransport(try sec1Device(), hangOn: "prov-config")
    let device = ProvDevice(transport: transport, options: options("abcd1234"))
    _ = try await device.connect()
    let cancel = CancelHandle()
    let call = Task { try await device.provisionWifi(ssid: home, passphrase: homePass, cancel: cancel) }
    await transport.hanging.wait()
    cancel.cancel()
    let error = try await expectError("provision") { _ = try await call.value }
    try checkEqual(ProvError.Cancelled, error as? ProvError, "error")
    let after = try await expectError("after cancel") { _ = try await device.wifiStatus() }
    try checkEqual(ProvError.NotConnected, after as? ProvError, "error after cancel")
}

await t.test("device errors are typed: wrong Wi-Fi passphrase, security below minimum") {
    let device = ProvDevice.simulated(device: try sec1Device(), options: options("abcd1234"))
    _ = try await device.connect()
    let error = try await expectError("wrong passphrase") { _ = try await device.provisionWifi(ssid: home, passphrase: "nope-nope") }
    try checkEqual(ProvError.WifiAuthFailed, error as? ProvError, "error")
    let open = try SimulatedDevice(config: SimulatedDeviceConfig(security: .sec0))
    let below = try await expectError("sec0") { _ = try await ProvDevice.simulated(device: open, options: options(nil)).connect() }
    try checkEqual(ProvError.SecurityBelowMinimum(offered: .sec0, minimum: .sec1), below as? ProvError, "error")
}

await bleTests(t)

await rainMakerTests(t)

exit(t.finish())
