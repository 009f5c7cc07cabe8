// The code sample of android/README.md, compiled and run by the binding tests
// (scripts/kotlin-test.sh). Keep the two in sync.
package rainmaker.prov.samples

import rainmaker.prov.CancelHandle
import rainmaker.prov.LinkKind
import rainmaker.prov.ProgressEvent
import rainmaker.prov.ProgressListener
import rainmaker.prov.ProvDevice
import rainmaker.prov.ProvException
import rainmaker.prov.ProvOptions
import rainmaker.prov.ProvTransport
import rainmaker.prov.SecurityLevel
import rainmaker.prov.TransportFailure
import rainmaker.prov.WifiConnection
import rainmaker.prov.parseQrCode

/** What the app's BLE layer offers: one write-then-read exchange on a named characteristic. */
interface GattLink {
    suspend fun writeThenRead(characteristic: String, data: ByteArray): ByteArray
    fun mtuPayload(): Int
    suspend fun close()
}

/** The app's BLE transport: endpoint names map to GATT characteristics (see docs/protocol.md 5.1). */
class BleTransport(private val link: GattLink) : ProvTransport {
    override suspend fun send(endpoint: String, data: ByteArray): ByteArray =
        try {
            link.writeThenRead(endpoint, data)
        } catch (e: java.io.IOException) {
            throw TransportFailure.Disconnected(e.message ?: "BLE link lost")
        }

    override fun maxPayload(): UInt = link.mtuPayload().toUInt()
    override fun linkKind(): LinkKind = LinkKind.BLE
    override suspend fun disconnect() = link.close()
}

/** What the UI shows. */
sealed interface ProvisioningResult {
    data class Joined(val connection: WifiConnection) : ProvisioningResult
    data object WrongPop : ProvisioningResult
    data object WrongWifiPassword : ProvisioningResult
    data class Failed(val reason: String) : ProvisioningResult
}

/** Provisions the device whose QR code was scanned onto the given Wi-Fi network. */
suspend fun provisionFromQrCode(
    qrText: String,
    transport: ProvTransport,
    ssid: String,
    passphrase: String,
    cancel: CancelHandle,
    onProgress: (ProgressEvent) -> Unit,
): ProvisioningResult {
    val qr = parseQrCode(qrText)
    val options = ProvOptions(minSecurity = SecurityLevel.SEC1, pop = qr.pop, sec2Username = qr.username)
    return ProvDevice(transport, options).use { device ->
        device.setProgressListener(object : ProgressListener {
            override fun onProgress(event: ProgressEvent) = onProgress(event)
        })
        try {
            device.connect(cancel)
            ProvisioningResult.Joined(device.provisionWifi(ssid, passphrase, cancel))
        } catch (e: ProvException.WrongCredentials) {
            ProvisioningResult.WrongPop
        } catch (e: ProvException.WifiAuthFailed) {
            ProvisioningResult.WrongWifiPassword
        } catch (e: ProvException) {
            ProvisioningResult.Failed(e.message ?: e.toString())
        } finally {
            device.disconnect()
        }
    }
}
