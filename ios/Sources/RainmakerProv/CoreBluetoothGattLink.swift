// The library's ready-made BLE on CoreBluetooth: `BleCentral` (one CBCentralManager: scanning for
// provisioning devices, connection events) and `CoreBluetoothGattLink` (the core's `GattLink` for
// one peripheral), for `ProvDevice.ble(link:options:)`. A thin bridge from CoreBluetooth's
// delegates to async functions; everything protocol-specific (service choice, endpoint names,
// timeouts, payload limits, error meaning) is the Rust GATT driver's.
//
// Compiled only where CoreBluetooth exists (iOS, macOS): the Linux binding tests
// (scripts/swift-test.sh) compile this file to nothing and exercise the same GattLink protocol
// with a Swift fake peripheral.
#if canImport(CoreBluetooth)
import CoreBluetooth
import Foundation

/// A provisioning device found by `BleCentral.scan`: its advertisement and the handle to connect.
public struct FoundPeripheral: @unchecked Sendable {
    /// The CoreBluetooth handle (connect with `BleCentral.link(for:)`).
    public let peripheral: CBPeripheral
    /// The advertised local name (`PROV_1A2B3C`), when there is one.
    public let name: String?
    /// Signal strength in dBm.
    public let rssi: Int
    /// The advertised service UUIDs (128-bit text form).
    public let serviceUuids: [String]
}

/// One CBCentralManager for the app's provisioning: scans, and owns the connections of the links it
/// makes (CoreBluetooth reports connection events to the manager that connected). Keep it alive
/// while its links are in use. Needs `NSBluetoothAlwaysUsageDescription` in Info.plist.
public final class BleCentral: NSObject, CBCentralManagerDelegate, @unchecked Sendable {
    private let queue = DispatchQueue(label: "rainmaker-prov.ble")
    private var manager: CBCentralManager!
    // Everything below is touched on `queue` only.
    private var stateWaiters: [(GattLinkError?) -> Void] = []
    private var links: [UUID: WeakLink] = [:]
    private var scanSink: ((CBPeripheral, [String: Any], NSNumber) -> Void)?
    private var scanGeneration = 0

    private struct WeakLink { weak var link: CoreBluetoothGattLink? }

    /// A central on its own serial queue (the system may ask the user for Bluetooth permission).
    public override init() {
        super.init()
        manager = CBCentralManager(delegate: self, queue: queue)
    }

    /// Scans for `timeout` seconds and yields every device whose advertisement passes `filter`
    /// (default: names starting with `PROV_`; judged by the core's `advertisementMatches`), once per
    /// peripheral, as it appears. Ends when the time is up or the consumer stops iterating; fails
    /// with `GattLinkError.Unreachable` when Bluetooth is off or not authorised.
    public func scan(
        filter: AdvertisementFilter = AdvertisementFilter(namePrefix: "PROV_", exactName: nil, serviceUuids: []),
        timeout: TimeInterval = 10
    ) -> AsyncThrowingStream<FoundPeripheral, Error> {
        AsyncThrowingStream { continuation in
            queue.async {
                self.whenPoweredOn { error in
                    if let error {
                        continuation.finish(throwing: error)
                        return
                    }
                    self.scanGeneration += 1
                    let generation = self.scanGeneration
                    var seen = Set<UUID>()
                    self.scanSink = { peripheral, advertisement, rssi in
                        let name = advertisement[CBAdvertisementDataLocalNameKey] as? String ?? peripheral.name
                        let uuids = (advertisement[CBAdvertisementDataServiceUUIDsKey] as? [CBUUID] ?? []).map(fullUuid)
                        guard advertisementMatches(filter: filter, name: name, serviceUuids: uuids),
                              seen.insert(peripheral.identifier).inserted else { return }
                        continuation.yield(FoundPeripheral(
                            peripheral: peripheral, name: name, rssi: rssi.intValue, serviceUuids: uuids))
                    }
                    self.manager.scanForPeripherals(withServices: nil, options: nil)
                    self.queue.asyncAfter(deadline: .now() + timeout) {
                        if self.scanGeneration == generation { self.stopScan() }
                        continuation.finish()
                    }
                    continuation.onTermination = { _ in
                        self.queue.async { if self.scanGeneration == generation { self.stopScan() } }
                    }
                }
            }
        }
    }

    /// A `GattLink` to `found`, for `ProvDevice.ble(link:options:)`.
    public func link(for found: FoundPeripheral) -> CoreBluetoothGattLink {
        let link = CoreBluetoothGattLink(central: self, peripheral: found.peripheral, advertised: found.serviceUuids)
        queue.sync { links[found.peripheral.identifier] = WeakLink(link: link) }
        return link
    }

    private func stopScan() {
        scanSink = nil
        if manager.isScanning { manager.stopScan() }
    }

    // Internal, for the links (on `queue`).

    fileprivate var dispatchQueue: DispatchQueue { queue }

    fileprivate func whenPoweredOn(_ body: @escaping (GattLinkError?) -> Void) {
        switch manager.state {
        case .poweredOn: body(nil)
        case .unknown, .resetting: stateWaiters.append(body)
        case .unauthorized: body(.Unreachable(detail: "Bluetooth use is not authorised for this app"))
        case .unsupported: body(.Unreachable(detail: "this device has no Bluetooth LE"))
        default: body(.Unreachable(detail: "Bluetooth is off"))
        }
    }

    fileprivate func connect(_ peripheral: CBPeripheral) { manager.connect(peripheral, options: nil) }

    fileprivate func cancelConnection(_ peripheral: CBPeripheral) { manager.cancelPeripheralConnection(peripheral) }

    // CBCentralManagerDelegate (on `queue`).

    public func centralManagerDidUpdateState(_ central: CBCentralManager) {
        guard central.state != .unknown, central.state != .resetting else { return }
        let waiters = stateWaiters
        stateWaiters = []
        waiters.forEach { whenPoweredOn($0) }
        if central.state != .poweredOn {
            links.values.forEach { $0.link?.linkLost(.Disconnected(detail: "Bluetooth was switched off")) }
        }
    }

    public func centralManager(
        _ central: CBCentralManager, didDiscover peripheral: CBPeripheral,
        advertisementData: [String: Any], rssi RSSI: NSNumber
    ) {
        scanSink?(peripheral, advertisementData, RSSI)
    }

    public func centralManager(_ central: CBCentralManager, didConnect peripheral: CBPeripheral) {
        links[peripheral.identifier]?.link?.connected()
    }

    public func centralManager(_ central: CBCentralManager, didFailToConnect peripheral: CBPeripheral, error: Error?) {
        links[peripheral.identifier]?.link?.linkLost(
            .Unreachable(detail: "connection failed: \(error?.localizedDescription ?? "unknown")"))
    }

    public func centralManager(
        _ central: CBCentralManager, didDisconnectPeripheral peripheral: CBPeripheral, error: Error?
    ) {
        links[peripheral.identifier]?.link?.linkLost(
            .Disconnected(detail: "the peripheral disconnected: \(error?.localizedDescription ?? "by request")"))
    }
}

/// The core's `GattLink` on one CoreBluetooth peripheral (make it with `BleCentral.link(for:)`).
///
/// - One operation in flight at a time (an async gate), each bridged to a checked continuation
///   completed by the CBPeripheralDelegate callback.
/// - `connect()` waits for Bluetooth to be on and connects; iOS negotiates the MTU itself.
/// - Writes are with response; CoreBluetooth does long writes itself, so `writeLimit()` is
///   `maximumWriteValueLength(for: .withResponse)` only when that is below 512, else `nil`.
/// - Descriptors are discovered for every characteristic and read on request (a 0x2901 user
///   description arrives from CoreBluetooth as a string and is returned as its UTF-8 bytes).
/// - A disconnection fails the pending operation with `GattLinkError.Disconnected`
///   (`Unreachable` while connecting); ATT errors (`CBATTErrorDomain`) map through
///   `gattStatusError` to `Refused`; `CBError` disconnections to `Disconnected`; the rest to `Failed`.
/// - An operation abandoned by the driver (its timeout cancels the Swift task) cancels the
///   connection: CoreBluetooth would still complete it later, so the link is not reused.
/// - UUIDs are reported as CoreBluetooth prints them (`2901` for the Bluetooth base); the core's
///   driver accepts the short forms.
public final class CoreBluetoothGattLink: NSObject, GattLink, CBPeripheralDelegate, @unchecked Sendable {
    private let central: BleCentral
    private let peripheral: CBPeripheral
    private let advertised: [String]
    private let gate = OperationGate()
    private var queue: DispatchQueue { central.dispatchQueue }
    // Touched on `queue` only.
    private var pending: Pending?

    private enum Op: String { case connect, services, characteristics, descriptors, readDescriptor, write, read }

    private final class Token { var cancelled = false }

    private struct Pending {
        let op: Op
        let token: Token
        let continuation: CheckedContinuation<Data, Error>
    }

    fileprivate init(central: BleCentral, peripheral: CBPeripheral, advertised: [String]) {
        self.central = central
        self.peripheral = peripheral
        self.advertised = advertised
        super.init()
    }

    public func connect() async throws {
        try await exclusive {
            _ = try await self.perform(.connect) { peripheral in
                peripheral.delegate = self
                if peripheral.state == .connected {
                    self.finish(.connect, .success(Data()))
                    return
                }
                self.central.whenPoweredOn { error in
                    if let error {
                        self.finish(.connect, .failure(error))
                    } else {
                        self.central.connect(peripheral)
                    }
                }
            }
        }
    }

    public func discoverServices() async throws -> [GattServiceInfo] {
        try await exclusive {
            _ = try await self.perform(.services) { $0.discoverServices(nil) }
            var result: [GattServiceInfo] = []
            for service in self.queue.sync(execute: { self.peripheral.services ?? [] }) {
                _ = try await self.perform(.characteristics) { $0.discoverCharacteristics(nil, for: service) }
                var characteristics: [GattCharacteristicInfo] = []
                for characteristic in self.queue.sync(execute: { service.characteristics ?? [] }) {
                    _ = try await self.perform(.descriptors) { $0.discoverDescriptors(for: characteristic) }
                    let (uuid, descriptors) = self.queue.sync {
                        (fullUuid(characteristic.uuid), (characteristic.descriptors ?? []).map { fullUuid($0.uuid) })
                    }
                    characteristics.append(GattCharacteristicInfo(uuid: uuid, descriptors: descriptors))
                }
                result.append(GattServiceInfo(uuid: fullUuid(service.uuid), characteristics: characteristics))
            }
            return result
        }
    }

    public func readDescriptor(service: String, characteristic: String, descriptor: String) async throws -> Data {
        try await exclusive {
            try await self.perform(.readDescriptor) { peripheral in
                let found = try self.characteristic(service, characteristic).descriptors?
                    .first { sameUuid($0.uuid, descriptor) }
                guard let found else { throw GattLinkError.Failed(detail: "no descriptor \(descriptor)") }
                peripheral.readValue(for: found)
            }
        }
    }

    public func writeCharacteristic(service: String, characteristic: String, value: Data) async throws {
        try await exclusive {
            _ = try await self.perform(.write) { peripheral in
                let target = try self.characteristic(service, characteristic)
                peripheral.writeValue(value, for: target, type: .withResponse)
            }
        }
    }

    public func readCharacteristic(service: String, characteristic: String) async throws -> Data {
        try await exclusive {
            try await self.perform(.read) { peripheral in
                let target = try self.characteristic(service, characteristic)
                peripheral.readValue(for: target)
            }
        }
    }

    public func writeLimit() -> UInt32? {
        let length = queue.sync { peripheral.maximumWriteValueLength(for: .withResponse) }
        return length < 512 ? UInt32(max(length, 20)) : nil
    }

    public func advertisedServices() -> [String] { advertised }

    public func disconnect() async {
        queue.async {
            self.fail(.Disconnected(detail: "disconnected by the app"))
            self.central.cancelConnection(self.peripheral)
        }
    }

    // MARK: bridging

    private func exclusive<T>(_ body: () async throws -> T) async throws -> T {
        await gate.acquire()
        do {
            let value = try await body()
            await gate.release()
            return value
        } catch {
            await gate.release()
            throw error
        }
    }

    /// Starts `op` on the queue with `start` and waits for the delegate callback that finishes it.
    private func perform(_ op: Op, _ start: @escaping (CBPeripheral) throws -> Void) async throws -> Data {
        let token = Token()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Data, Error>) in
                queue.async {
                    if token.cancelled {
                        continuation.resume(throwing: CancellationError())
                        return
                    }
                    if op != .connect, self.peripheral.state != .connected {
                        continuation.resume(throwing: GattLinkError.Disconnected(detail: "not connected"))
                        return
                    }
                    self.pending = Pending(op: op, token: token, continuation: continuation)
                    do {
                        try start(self.peripheral)
                    } catch {
                        self.finish(op, .failure(error))
                    }
                }
            }
        } onCancel: {
            self.queue.async {
                token.cancelled = true
                guard let pending = self.pending, pending.token === token else { return }
                self.pending = nil
                pending.continuation.resume(throwing: CancellationError())
                // CoreBluetooth still has the operation in flight: do not reuse this connection.
                self.central.cancelConnection(self.peripheral)
            }
        }
    }

    /// Completes the pending operation when it is `op` (on the queue).
    private func finish(_ op: Op, _ result: Result<Data, Error>) {
        guard let current = pending, current.op == op else { return }
        pending = nil
        switch result {
        case .success(let value): current.continuation.resume(returning: value)
        case .failure(let error as GattLinkError): current.continuation.resume(throwing: error)
        case .failure(let error): current.continuation.resume(throwing: Self.linkError(error, op))
        }
    }

    private func fail(_ error: GattLinkError) {
        guard let current = pending else { return }
        pending = nil
        current.continuation.resume(throwing: error)
    }

    private func characteristic(_ service: String, _ characteristic: String) throws -> CBCharacteristic {
        let found = peripheral.services?.first { sameUuid($0.uuid, service) }?
            .characteristics?.first { sameUuid($0.uuid, characteristic) }
        guard let found else { throw GattLinkError.Failed(detail: "no characteristic \(characteristic) in \(service)") }
        return found
    }

    private static func linkError(_ error: Error, _ op: Op) -> GattLinkError {
        let ns = error as NSError
        if ns.domain == CBATTErrorDomain { return gattStatusError(status: Int32(ns.code), operation: op.rawValue) }
        if ns.domain == CBErrorDomain, let code = CBError.Code(rawValue: ns.code) {
            switch code {
            case .notConnected, .connectionTimeout, .peripheralDisconnected, .connectionFailed:
                return .Disconnected(detail: ns.localizedDescription)
            default: break
            }
        }
        return .Failed(detail: "\(op.rawValue): \(ns.localizedDescription)")
    }

    // MARK: connection events (from BleCentral, on the queue)

    fileprivate func connected() { finish(.connect, .success(Data())) }

    fileprivate func linkLost(_ error: GattLinkError) {
        if pending?.op == .connect, case .Disconnected(let detail) = error {
            fail(.Unreachable(detail: detail))
        } else {
            fail(error)
        }
    }

    // MARK: CBPeripheralDelegate (on the queue)

    public func peripheral(_ peripheral: CBPeripheral, didDiscoverServices error: Error?) {
        finish(.services, outcome(error))
    }

    public func peripheral(_ peripheral: CBPeripheral, didDiscoverCharacteristicsFor service: CBService, error: Error?) {
        finish(.characteristics, outcome(error))
    }

    public func peripheral(
        _ peripheral: CBPeripheral, didDiscoverDescriptorsFor characteristic: CBCharacteristic, error: Error?
    ) {
        finish(.descriptors, outcome(error))
    }

    public func peripheral(_ peripheral: CBPeripheral, didUpdateValueFor descriptor: CBDescriptor, error: Error?) {
        if let error {
            finish(.readDescriptor, .failure(error))
            return
        }
        let value: Data
        switch descriptor.value {
        case let data as Data: value = data
        case let text as String: value = Data(text.utf8)
        case let number as NSNumber: value = withUnsafeBytes(of: number.uint16Value.littleEndian) { Data($0) }
        default: value = Data()
        }
        finish(.readDescriptor, .success(value))
    }

    public func peripheral(_ peripheral: CBPeripheral, didWriteValueFor characteristic: CBCharacteristic, error: Error?) {
        finish(.write, outcome(error))
    }

    public func peripheral(_ peripheral: CBPeripheral, didUpdateValueFor characteristic: CBCharacteristic, error: Error?) {
        finish(.read, outcome(error, characteristic.value ?? Data()))
    }
}

/// The result of a delegate callback that carries `error` and, on success, `value`.
private func outcome(_ error: Error?, _ value: Data = Data()) -> Result<Data, Error> {
    if let error { return .failure(error) }
    return .success(value)
}

/// One holder at a time, in arrival order.
private actor OperationGate {
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func acquire() async {
        if !busy {
            busy = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if waiters.isEmpty { busy = false } else { waiters.removeFirst().resume() }
    }
}

/// A CoreBluetooth UUID as the driver receives it: CoreBluetooth's own text (`2901` for UUIDs of
/// the Bluetooth base; the core's driver and `advertisementMatches` accept short forms).
private func fullUuid(_ uuid: CBUUID) -> String { uuid.uuidString }

/// Whether `uuid` is the one the driver names `text` (the driver hands back the text it received).
private func sameUuid(_ uuid: CBUUID, _ text: String) -> Bool {
    uuid.uuidString.caseInsensitiveCompare(text) == .orderedSame
}
#endif
