// The code sample of android/README.md, compiled and run by the binding tests
// (scripts/kotlin-test.sh). Keep the two in sync.
package rainmaker.prov.samples

import rainmaker.prov.AssociationPlan
import rainmaker.prov.CancelHandle
import rainmaker.prov.CloudTokens
import rainmaker.prov.ProgressListener
import rainmaker.prov.ProvDevice
import rainmaker.prov.ProvOptions
import rainmaker.prov.RainMakerCloud
import rainmaker.prov.core.AssociationState
import rainmaker.prov.core.GattLink
import rainmaker.prov.core.ProgressEvent
import rainmaker.prov.core.ProvException
import rainmaker.prov.core.RainMakerException
import rainmaker.prov.core.SecurityLevel
import rainmaker.prov.core.WifiConnectedInfo
import rainmaker.prov.core.WifiNetwork
import rainmaker.prov.http.HttpUrlConnectionClient
import rainmaker.prov.parseQrCode

/** What the UI shows. */
sealed interface ProvisioningResult {
    data class Joined(val connection: WifiConnectedInfo) : ProvisioningResult
    data object WrongPop : ProvisioningResult
    data object WrongWifiPassword : ProvisioningResult
    data class Failed(val reason: String) : ProvisioningResult
}

/**
 * The network the user picked from the device's scan, and its passphrase. Show
 * `network.ssidLossy()`; send `network.ssid` (the SSID's bytes, which need not be UTF-8).
 */
data class WifiChoice(val network: WifiNetwork, val passphrase: String)

/**
 * Provisions the device whose QR code was scanned: connects over BLE with the QR code's PoP (and
 * security 2 username), lets the user pick one of the networks the device sees, sends it and waits
 * until the device joined. [link] is the shipped `AndroidGattLink` of the device `BleScanner`
 * found (below), or any other `GattLink`.
 */
suspend fun provisionOverBle(
    qrText: String,
    link: GattLink,
    chooseNetwork: suspend (List<WifiNetwork>) -> WifiChoice,
    cancel: CancelHandle,
    onProgress: (ProgressEvent) -> Unit,
): ProvisioningResult {
    val qr = parseQrCode(qrText)
    val options = ProvOptions(minSecurity = SecurityLevel.SEC1, pop = qr.pop, sec2Username = qr.username)
    return ProvDevice.ble(link, options).use { device ->
        device.setProgressListener(object : ProgressListener {
            override fun onProgress(event: ProgressEvent) = onProgress(event)
        })
        try {
            device.connect(cancel)
            val choice = chooseNetwork(device.scanWifi(cancel))
            ProvisioningResult.Joined(device.provisionWifiRaw(choice.network.ssid, choice.passphrase, cancel))
        } catch (e: ProvException.WrongCredentials) {
            ProvisioningResult.WrongPop
        } catch (e: ProvException.WifiAuthFailed) {
            ProvisioningResult.WrongWifiPassword
        } catch (e: ProvException) {
            // toString() is the core's message, naming the step (message holds only the fields).
            ProvisioningResult.Failed(e.toString())
        } finally {
            device.disconnect()
        }
    }
}

/** The RainMaker cloud of Espressif's public deployment, over the library's HTTP client. */
fun espressifCloud(): RainMakerCloud = RainMakerCloud(HttpUrlConnectionClient())

/** What the RainMaker screen shows. */
sealed interface AddDeviceResult {
    data class Added(val nodeId: String, val onAccount: Boolean) : AddDeviceResult
    data object WrongAccountPassword : AddDeviceResult
    data object WrongPop : AddDeviceResult
    data class Failed(val reason: String) : AddDeviceResult
}

/**
 * One screen: log in to RainMaker (unless already), then provision the device whose SoftAP the
 * phone joined (`address` is usually "192.168.4.1:80") with its PoP, and add it to the account.
 * [saveTokens] stores the account's tokens (Keystore) for the next start.
 */
suspend fun addRainMakerDevice(
    cloud: RainMakerCloud,
    email: String,
    password: String,
    address: String,
    pop: String,
    ssid: String,
    passphrase: String,
    saveTokens: (CloudTokens) -> Unit,
    onProgress: (ProgressEvent) -> Unit,
): AddDeviceResult {
    try {
        if (!cloud.isLoggedIn() && cloud.login(email, password).needsCode()) {
            return AddDeviceResult.Failed("this account needs a one-time code")
        }
    } catch (e: RainMakerException.LoginRejected) {
        return AddDeviceResult.WrongAccountPassword
    }
    val options = ProvOptions(minSecurity = SecurityLevel.SEC1, pop = pop)
    return ProvDevice.softap(address, options).use { device ->
        device.setProgressListener(object : ProgressListener {
            override fun onProgress(event: ProgressEvent) = onProgress(event)
        })
        try {
            val outcome = device.provisionRainmaker(
                AssociationPlan.cloud(cloud), ssid = ssid, passphrase = passphrase, allowClaim = true,
            )
            cloud.tokens()?.let(saveTokens)
            AddDeviceResult.Added(outcome.nodeId ?: "", outcome.association is AssociationState.Confirmed)
        } catch (e: RainMakerException.Device) {
            // The device's own failure (wrong PoP, Wi-Fi, the link, cancelled) as a ProvException.
            when (e.error) {
                is ProvException.WrongCredentials -> AddDeviceResult.WrongPop
                else -> AddDeviceResult.Failed(e.error.toString())
            }
        } catch (e: RainMakerException) {
            AddDeviceResult.Failed(e.toString())
        }
    }
}
