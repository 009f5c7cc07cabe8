// The code sample of ios/README.md, compiled and run by the binding tests
// (scripts/swift-test.sh). Keep the two in sync.
import Foundation
import RainmakerProv

/// What the app's BLE layer offers: one write-then-read exchange on a named characteristic.
protocol GattLink: AnyObject, Sendable {
    func writeThenRead(characteristic: String, data: Data) async throws -> Data
    var mtuPayload: Int { get }
    func close() async
}

/// The app's BLE transport: endpoint names map to GATT characteristics (see docs/protocol.md 5.1).
final class BleTransport: ProvTransport {
    private let link: GattLink
    init(link: GattLink) { self.link = link }

    func send(endpoint: String, data: Data) async throws -> Data {
        do {
            return try await link.writeThenRead(characteristic: endpoint, data: data)
        } catch let error as URLError {
            throw TransportFailure.Disconnected(detail: error.localizedDescription)
        }
    }
    func maxPayload() -> UInt32 { UInt32(link.mtuPayload) }
    func linkKind() -> LinkKind { .ble }
    func disconnect() async throws { await link.close() }
}

/// Forwards progress events to a closure.
final class ProgressForwarder: ProgressListener {
    private let handler: @Sendable (ProgressEvent) -> Void
    init(_ handler: @escaping @Sendable (ProgressEvent) -> Void) { self.handler = handler }
    func onProgress(event: ProgressEvent) { handler(event) }
}

/// What the UI shows.
enum ProvisioningResult: Equatable {
    case joined(WifiConnection)
    case wrongPop
    case wrongWifiPassword
    case failed(String)
}

/// Provisions the device whose QR code was scanned onto the given Wi-Fi network. Cancelling the
/// Swift task cancels the provisioning.
func provisionFromQrCode(
    qrText: String,
    transport: ProvTransport,
    ssid: String,
    passphrase: String,
    onProgress: @escaping @Sendable (ProgressEvent) -> Void
) async throws -> ProvisioningResult {
    let qr = try parseQrCode(text: qrText)
    let options = ProvOptions(minSecurity: .sec1, pop: qr.pop, sec2Username: qr.username)
    let device = ProvDevice(transport: transport, options: options)
    device.setProgressListener(listener: ProgressForwarder(onProgress))
    let cancel = CancelHandle()
    return try await withTaskCancellationHandler {
        defer { Task { await device.disconnect() } }
        do {
            _ = try await device.connect(cancel: cancel)
            return .joined(try await device.provisionWifi(ssid: ssid, passphrase: passphrase, cancel: cancel))
        } catch ProvError.WrongCredentials {
            return .wrongPop
        } catch ProvError.WifiAuthFailed {
            return .wrongWifiPassword
        } catch ProvError.Cancelled {
            throw CancellationError()
        } catch let error as ProvError {
            return .failed(error.localizedDescription)
        }
    } onCancel: {
        cancel.cancel()
    }
}

/// The RainMaker cloud of Espressif's public deployment, over the library's HTTP client.
func espressifCloud() throws -> RainMakerCloud {
    try RainMakerCloud(http: URLSessionHttpClient())
}

/// What the RainMaker screen shows.
enum AddDeviceResult: Equatable {
    case added(nodeId: String, onAccount: Bool)
    case wrongAccountPassword
    case wrongPop
    case failed(String)
}

/// One screen: log in to RainMaker (unless already), then provision the device whose SoftAP the
/// phone joined (`address` is usually "192.168.4.1:80") with its PoP, and add it to the account.
/// `saveTokens` stores the account's tokens (Keychain) for the next start.
func addRainMakerDevice(
    cloud: RainMakerCloud,
    email: String,
    password: String,
    address: String,
    pop: String,
    ssid: String,
    passphrase: String,
    saveTokens: (CloudTokens) -> Void,
    onProgress: @escaping @Sendable (ProgressEvent) -> Void
) async -> AddDeviceResult {
    do {
        if !cloud.isLoggedIn(), try await cloud.login(userName: email, password: password).needsCode() {
            return .failed("this account needs a one-time code")
        }
    } catch ProvError.LoginRejected {
        return .wrongAccountPassword
    } catch {
        return .failed(error.localizedDescription)
    }
    let device = ProvDevice.softap(address: address, options: ProvOptions(minSecurity: .sec1, pop: pop))
    device.setProgressListener(listener: ProgressForwarder(onProgress))
    do {
        let outcome = try await device.provisionRainmaker(
            plan: AssociationPlan.cloud(cloud: cloud), ssid: ssid, passphrase: passphrase, allowClaim: true)
        if let tokens = cloud.tokens() { saveTokens(tokens) }
        return .added(nodeId: outcome.nodeId ?? "", onAccount: outcome.association == .confirmed)
    } catch ProvError.WrongCredentials {
        return .wrongPop
    } catch {
        return .failed(error.localizedDescription)
    }
}
