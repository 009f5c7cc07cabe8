// BLE binding tests: a fake peripheral written in Swift, implementing the core's GattLink (the
// protocol the shipped CoreBluetoothGattLink implements on CoreBluetooth), forwarding to a
// SimulatedPeripheral (the simulated device's GATT layout) and adding failures of its own. The
// core's GATT driver runs on top of it through ProvDevice.ble, exactly as on a phone.
import Foundation
import RainmakerProv

let userDescription = "00002901-0000-1000-8000-00805f9b34fb"

struct AdapterCrash: Error {}

/// A GattLink written in Swift: every operation goes to `target` (the simulated device's
/// peripheral); it records what was written and can fail on its own: report a smaller write limit,
/// drop the link on the read that follows write number `dropReadAfterWrite`, throw an unexpected
/// error on write number `throwAtWrite`, or hang on every read.
final class SwiftPeripheral: GattLink, @unchecked Sendable {
    private let target: SimulatedPeripheral
    private let writeLimitOverride: UInt32?
    private let dropReadAfterWrite: Int?
    private let throwAtWrite: Int?
    private let hangOnRead: Bool
    private let lock = NSLock()
    private var recorded: [(characteristic: String, size: Int)] = []
    private var descriptorReadCount = 0
    private var cancelledRead = false

    init(_ target: SimulatedPeripheral, writeLimit: UInt32? = nil, dropReadAfterWrite: Int? = nil,
         throwAtWrite: Int? = nil, hangOnRead: Bool = false) {
        self.target = target
        writeLimitOverride = writeLimit
        self.dropReadAfterWrite = dropReadAfterWrite
        self.throwAtWrite = throwAtWrite
        self.hangOnRead = hangOnRead
    }

    /// Runs `body` under the lock (synchronous: never held across a suspension point).
    private func synced<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    var writes: [(characteristic: String, size: Int)] { synced { recorded } }
    var descriptorReads: Int { synced { descriptorReadCount } }
    var readCancelled: Bool { synced { cancelledRead } }

    func connect() async throws { try await target.connect() }

    func discoverServices() async throws -> [GattServiceInfo] { try await target.discoverServices() }

    func readDescriptor(service: String, characteristic: String, descriptor: String) async throws -> Data {
        synced { descriptorReadCount += 1 }
        return try await target.readDescriptor(service: service, characteristic: characteristic, descriptor: descriptor)
    }

    func writeCharacteristic(service: String, characteristic: String, value: Data) async throws {
        let number = synced { recorded.append((characteristic, value.count)); return recorded.count }
        if number == throwAtWrite { throw AdapterCrash() }
        try await target.writeCharacteristic(service: service, characteristic: characteristic, value: value)
    }

    func readCharacteristic(service: String, characteristic: String) async throws -> Data {
        if hangOnRead {
            do {
                while true { try await Task.sleep(nanoseconds: 10_000_000) }
            } catch {
                synced { cancelledRead = true }
                throw error
            }
        }
        if writes.count == dropReadAfterWrite {
            target.dropLink()
            throw GattLinkError.Disconnected(detail: "the Swift link lost the peripheral")
        }
        return try await target.readCharacteristic(service: service, characteristic: characteristic)
    }

    func writeLimit() -> UInt32? { writeLimitOverride ?? target.writeLimit() }

    func advertisedServices() -> [String] { target.advertisedServices() }

    func disconnect() async { await target.disconnect() }
}

func peripheral(_ device: SimulatedDevice, _ config: SimulatedPeripheralConfig = SimulatedPeripheralConfig())
    -> SimulatedPeripheral {
    SimulatedPeripheral(device: device, config: config)
}

func bleTests(_ t: TestRunner) async {
    await t.test("BLE security 1: connect and provision Wi-Fi through a Swift GattLink") {
        let sim = try sec1Device()
        let target = peripheral(sim)
        let link = SwiftPeripheral(target)
        let device = try ProvDevice.ble(link: link, options: options("abcd1234"))
        try checkEqual(SecurityLevel.sec1, try await device.connect().security, "security")
        try checkEqual(homeSsid, try await device.provisionWifi(ssid: home, passphrase: homePass).ssid, "joined")
        await device.disconnect()
        try checkEqual(home, sim.connectedSsid(), "device's ssid")
        try check(link.descriptorReads >= 5, "endpoint names read: \(link.descriptorReads)")
        try checkEqual(UInt64(link.writes.count), target.writes(), "every write reached the peripheral")
    }

    await t.test("BLE security 2: scan and provision through a Swift GattLink (Bluedroid-style firmware)") {
        let sim = try sec2Device(password: "ble-sec2-pass")
        let link = SwiftPeripheral(peripheral(sim, SimulatedPeripheralConfig(bluedroid: true)))
        let device = try ProvDevice.ble(link: link, options: options("ble-sec2-pass", min: .sec2))
        try checkEqual(SecurityLevel.sec2, try await device.connect().security, "security")
        let networks = try await device.scanWifi()
        try check(networks.contains { $0.ssid == homeSsid }, "scan: \(networks.map { $0.ssidLossy() })")
        try checkEqual(homeSsid, try await device.provisionWifi(ssid: home, passphrase: homePass).ssid, "joined")
        try checkEqual(home, sim.connectedSsid(), "device's ssid")
    }

    await t.test("BLE wrong PoP gives ProvError.WrongCredentials (NimBLE and Bluedroid firmware)") {
        for bluedroid in [false, true] {
            let config = SimulatedPeripheralConfig(bluedroid: bluedroid)
            for (sim, min) in [(try sec1Device(pop: "abcd1234"), SecurityLevel.sec1), (try sec2Device(password: "right"), .sec2)] {
                let device = try ProvDevice.ble(link: SwiftPeripheral(peripheral(sim, config)), options: options("wrong", min: min))
                let error = try await expectError("connect") { _ = try await device.connect() }
                try checkEqual(ProvError.WrongCredentials, error as? ProvError, "\(min), bluedroid=\(bluedroid)")
            }
        }
    }

    await t.test("BLE link dropping mid-exchange gives ProvError.Disconnected; connect() again recovers") {
        // Writes: proto-ver, two handshake steps, then prov-config (set credentials): its read drops.
        let device = try ProvDevice.ble(link: SwiftPeripheral(peripheral(try sec1Device()), dropReadAfterWrite: 4),
                                        options: options("abcd1234"))
        _ = try await device.connect()
        let error = try await expectError("provision") { _ = try await device.provisionWifi(ssid: home, passphrase: homePass) }
        guard case let ProvError.Disconnected(step, _) = error else { throw AssertionFailed(description: "got \(error)") }
        try checkEqual(ProvStep.sendCredentials, step, "step")
        _ = try await device.connect()
        try checkEqual(homeSsid, try await device.provisionWifi(ssid: home, passphrase: homePass).ssid, "joined after reconnecting")
        // The simulated firmware's own drop (the peripheral side, on the same write).
        let dropping = try ProvDevice.ble(
            link: SwiftPeripheral(peripheral(try sec1Device(), SimulatedPeripheralConfig(dropAtWrite: 4))),
            options: options("abcd1234"))
        _ = try await dropping.connect()
        let dropped = try await expectError("provision") { _ = try await dropping.provisionWifi(ssid: home, passphrase: homePass) }
        guard case ProvError.Disconnected = dropped else { throw AssertionFailed(description: "got \(dropped)") }
    }

    await t.test("BLE write limit of 20 bytes: PayloadTooLarge, nothing larger written") {
        let target = peripheral(try sec1Device())
        let link = SwiftPeripheral(target, writeLimit: 20)
        let device = try ProvDevice.ble(link: link, options: options("abcd1234"))
        let error = try await expectError("connect") { _ = try await device.connect() }
        guard case let ProvError.PayloadTooLarge(step, size, limit) = error else {
            throw AssertionFailed(description: "got \(error)")
        }
        try checkEqual(ProvStep.handshake, step, "step")
        try checkEqual(UInt64(20), limit, "limit")
        try check(size > 20, "size \(size)")
        try check(link.writes.allSatisfy { $0.size <= 20 }, "a write above the limit reached the link: \(link.writes)")
        try check(!link.writes.contains { $0.characteristic.hasPrefix("021aff51") }, "prov-session written")
        try checkEqual(UInt64(link.writes.count), target.writes(), "peripheral writes")
        // The simulated firmware's own limit, reported through the forwarding link.
        let limited = SwiftPeripheral(peripheral(try sec1Device(), SimulatedPeripheralConfig(writeLimit: 20)))
        let other = try await expectError("connect") {
            _ = try await ProvDevice.ble(link: limited, options: options("abcd1234")).connect()
        }
        guard case ProvError.PayloadTooLarge = other else { throw AssertionFailed(description: "got \(other)") }
        try check(limited.writes.allSatisfy { $0.size <= 20 }, "writes \(limited.writes)")
    }

    await t.test("BLE device without 0x2901 user descriptions (ESP-IDF v3.2 layout) provisions") {
        let sim = try sec1Device()
        let target = peripheral(sim, SimulatedPeripheralConfig(descriptions: false))
        try await target.connect()
        let described = try await target.discoverServices().flatMap { $0.characteristics.flatMap(\.descriptors) }
        try check(!described.contains { $0.lowercased() == userDescription }, "descriptors \(described)")
        await target.disconnect()
        let link = SwiftPeripheral(target)
        let device = try ProvDevice.ble(link: link, options: options("abcd1234"))
        _ = try await device.connect()
        try checkEqual(homeSsid, try await device.provisionWifi(ssid: home, passphrase: homePass).ssid, "joined")
        try checkEqual(0, link.descriptorReads, "descriptor reads")
        try checkEqual(home, sim.connectedSsid(), "device's ssid")
    }

    await t.test("BLE: an unexpected error in the app's GattLink is a typed error, not a crash") {
        let device = try ProvDevice.ble(link: SwiftPeripheral(peripheral(try sec1Device()), throwAtWrite: 4),
                                        options: options("abcd1234"))
        _ = try await device.connect()
        let error = try await expectError("provision") { _ = try await device.provisionWifi(ssid: home, passphrase: homePass) }
        guard case let ProvError.Disconnected(step, _) = error else { throw AssertionFailed(description: "got \(error)") }
        try checkEqual(ProvStep.sendCredentials, step, "step")
        try checkEqual(SecurityLevel.sec1, try await device.connect().security, "the next connect works")
    }

    await t.test("BLE request timeout cancels the Swift read and gives ProvError.Timeout") {
        let link = SwiftPeripheral(peripheral(try sec1Device()), hangOnRead: true)
        let device = try ProvDevice.ble(link: link, options: options("abcd1234"),
                                        bleOptions: BleOptions(requestTimeoutMs: 300))
        let error = try await expectError("connect") { _ = try await device.connect() }
        try checkEqual(ProvError.Timeout(step: .readCapabilities), error as? ProvError, "error")
        for _ in 0..<100 where !link.readCancelled { try await Task.sleep(nanoseconds: 10_000_000) }
        try check(link.readCancelled, "the hanging Swift read was not cancelled")
    }

    await t.test("BLE options are checked; fallbacks find an unadvertised service") {
        let error = try await expectError("fallback") {
            _ = try ProvDevice.ble(link: SwiftPeripheral(peripheral(try sec1Device())), options: options("abcd1234"),
                                   bleOptions: BleOptions(fallbackServiceUuids: ["not-a-uuid"]))
        }
        guard case ProvError.InvalidInput = error else { throw AssertionFailed(description: "got \(error)") }
        let hidden = SwiftPeripheral(peripheral(try sec1Device(), SimulatedPeripheralConfig(advertised: false)))
        try check(hidden.advertisedServices().isEmpty, "advertised \(hidden.advertisedServices())")
        let device = try ProvDevice.ble(link: hidden, options: options("abcd1234"))
        try checkEqual(SecurityLevel.sec1, try await device.connect().security, "security")
    }

    await t.test("advertisementMatches: name prefix, exact QR name, service UUIDs (CoreBluetooth short forms)") {
        let prov = AdvertisementFilter(namePrefix: "PROV_", exactName: nil, serviceUuids: [])
        try check(advertisementMatches(filter: prov, name: "PROV_1A2B3C", serviceUuids: []), "prefix")
        try check(!advertisementMatches(filter: prov, name: "Headphones", serviceUuids: []), "other name")
        try check(!advertisementMatches(filter: prov, name: nil, serviceUuids: []), "no name")
        let exact = AdvertisementFilter(namePrefix: "PROV_", exactName: "PROV_1A2B3C", serviceUuids: [])
        try check(advertisementMatches(filter: exact, name: "PROV_1A2B3C", serviceUuids: []), "exact")
        try check(!advertisementMatches(filter: exact, name: "PROV_1A2B3", serviceUuids: []), "exact, shorter")
        let target = peripheral(try sec1Device(), SimulatedPeripheralConfig(name: "Kitchen lamp"))
        let byService = AdvertisementFilter(namePrefix: "PROV_", exactName: nil,
                                            serviceUuids: ["021A9004-0382-4AEA-BFF4-6B3F1C5ADFB4"])
        try check(advertisementMatches(filter: byService, name: target.name(), serviceUuids: target.advertisedServices()),
                  "by service")
        try check(!advertisementMatches(filter: prov, name: target.name(), serviceUuids: target.advertisedServices()),
                  "custom name")
        // CoreBluetooth prints 16-bit UUIDs short (`FFFF`).
        let legacy = AdvertisementFilter(namePrefix: nil, exactName: nil,
                                         serviceUuids: ["0000ffff-0000-1000-8000-00805f9b34fb"])
        try check(advertisementMatches(filter: legacy, name: nil, serviceUuids: ["FFFF"]), "short form")
    }

    await t.test("gattStatusError: ATT errors are Refused, stack codes Failed") {
        try checkEqual(GattLinkError.Refused(attError: 0x0e), gattStatusError(status: 0x0e, operation: "write"), "0x0e")
        guard case let .Failed(detail) = gattStatusError(status: 133, operation: "write"), detail.contains("133") else {
            throw AssertionFailed(description: "133")
        }
    }

    await t.test("README sample: scan result -> BLE with the QR code's PoP -> pick a network -> provisioned; task cancellation cancels") {
        let sim = try sec2Device(password: "qr-pop-1234")
        let target = peripheral(sim, SimulatedPeripheralConfig(name: "PROV_1A2B3C"))
        let qr = #"{"ver":"v1","name":"PROV_1A2B3C","username":"wifiprov","pop":"qr-pop-1234","transport":"ble"}"#
        let pick: ([WifiNetwork]) async -> WifiChoice = { networks in
            WifiChoice(ssid: networks.first { $0.ssidLossy() == home }?.ssid ?? homeSsid, passphrase: homePass)
        }
        let events = RecordingListener()
        let result = try await provisionOverBle(qrText: qr, link: SwiftPeripheral(target), chooseNetwork: pick) {
            events.onProgress(event: $0)
        }
        guard case .joined = result else { throw AssertionFailed(description: "result \(result)") }
        try check(events.events.contains { isCase($0, "connected") }, "events \(events.events)")
        try checkEqual(home, sim.connectedSsid(), "device's ssid")
        let wrong = try await provisionOverBle(
            qrText: qr.replacingOccurrences(of: "qr-pop-1234", with: "bad"), link: SwiftPeripheral(target),
            chooseNetwork: pick) { _ in }
        try checkEqual(ProvisioningResult.wrongPop, wrong, "wrong PoP")
        let task = Task {
            try await provisionOverBle(qrText: qr, link: SwiftPeripheral(target, hangOnRead: true),
                                       chooseNetwork: pick) { _ in }
        }
        try await Task.sleep(nanoseconds: 300_000_000)
        task.cancel()
        let error = try await expectError("cancelled task") { _ = try await task.value }
        try check(error is CancellationError, "got \(error)")
    }
}
