// The code sample of ios/README.md, compiled and run by the binding tests
// (scripts/swift-test.sh). Keep the two in sync.
import Foundation
import RainmakerProv

/// Forwards progress events to a closure.
final class ProgressForwarder: ProgressListener {
    private let handler: @Sendable (ProgressEvent) -> Void
    init(_ handler: @escaping @Sendable (ProgressEvent) -> Void) { self.handler = handler }
    func onProgress(event: ProgressEvent) { handler(event) }
}

/// What the UI shows.
enum ProvisioningResult: Equatable {
    case joined(WifiConnectedInfo)
    case wrongPop
    case wrongWifiPassword
    case failed(String)
}

/// The network the user picked from the device's scan (its SSID bytes, `WifiNetwork.ssid`; the
/// list shows `ssidLossy()`), and its passphrase.
struct WifiChoice {
    let ssid: Data
    let passphrase: String
}

/// Provisions the device whose QR code was scanned: connects over BLE with the QR code's PoP (and
/// security 2 username), lets the user pick one of the networks the device sees, sends it and
/// waits until the device joined. `link` is the shipped `CoreBluetoothGattLink` of the device
/// `BleCentral.scan` found (below), or any other `GattLink`. Cancelling the Swift task cancels
/// the provisioning.
func provisionOverBle(
    qrText: String,
    link: GattLink,
    chooseNetwork: ([WifiNetwork]) async -> WifiChoice,
    onProgress: @escaping @Sendable (ProgressEvent) -> Void
) async throws -> ProvisioningResult {
    let qr = try parseQrCode(text: qrText)
    let options = ProvOptions(minSecurity: .sec1, pop: qr.pop, sec2Username: qr.username)
    let device = try ProvDevice.ble(link: link, options: options)
    device.setProgressListener(listener: ProgressForwarder(onProgress))
    let cancel = CancelHandle()
    return try await withTaskCancellationHandler {
        let result: ProvisioningResult
        do {
            _ = try await device.connect(cancel: cancel)
            let choice = await chooseNetwork(try await device.scanWifi(cancel: cancel))
            result = .joined(try await device.provisionWifiRaw(
                ssid: choice.ssid, passphrase: choice.passphrase, cancel: cancel))
        } catch ProvError.WrongCredentials {
            result = .wrongPop
        } catch ProvError.WifiAuthFailed {
            result = .wrongWifiPassword
        } catch ProvError.Cancelled {
            await device.disconnect()
            throw CancellationError()
        } catch {
            result = .failed(error.localizedDescription)
        }
        await device.disconnect()
        return result
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
    } catch RainMakerError.LoginRejected {
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
    } catch RainMakerError.Device(ProvError.WrongCredentials) {
        return .wrongPop
    } catch {
        return .failed(error.localizedDescription)
    }
}
