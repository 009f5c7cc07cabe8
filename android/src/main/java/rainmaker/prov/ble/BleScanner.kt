// The library's BLE scanner for provisioning devices (android.bluetooth.le): emits each device
// whose advertisement passes an AdvertisementFilter, judged by the core's advertisementMatches.
// Needs the Android SDK: scripts/kotlin-test.sh (plain JVM) does not compile this directory; the
// matching itself is the core's and is tested there and from the JVM tests.
package rainmaker.prov.ble

import android.annotation.SuppressLint
import android.bluetooth.BluetoothDevice
import android.bluetooth.BluetoothManager
import android.bluetooth.le.ScanCallback
import android.bluetooth.le.ScanFilter
import android.bluetooth.le.ScanResult
import android.bluetooth.le.ScanSettings
import android.content.Context
import java.util.concurrent.ConcurrentHashMap
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.launch
import rainmaker.prov.core.AdvertisementFilter
import rainmaker.prov.core.GattLinkException
import rainmaker.prov.core.advertisementMatches

/** A device [BleScanner] found: its advertisement and the handle to connect to it. */
class FoundDevice(
    /** The Android handle (connect with [link]). */
    val device: BluetoothDevice,
    /** The advertised local name (`PROV_1A2B3C`), when the advertisement carries one. */
    val name: String?,
    /** Signal strength in dBm. */
    val rssi: Int,
    /** The advertised service UUIDs (128-bit text form). */
    val serviceUuids: List<String>,
) {
    /** The device's Bluetooth address. */
    val address: String get() = device.address

    /** A [AndroidGattLink] to this device, for `ProvDevice.ble(link, options)`. */
    fun link(context: Context, longWrites: Boolean = true): AndroidGattLink =
        AndroidGattLink(context, device, serviceUuids, longWrites)
}

/** The BLE scan could not start or stopped (`ScanCallback.SCAN_FAILED_*` in [errorCode]). */
class BleScanException(val errorCode: Int) : Exception("BLE scan failed (ScanCallback error $errorCode)")

/**
 * Scans for provisioning devices. Needs `BLUETOOTH_SCAN` (Android 12+) or
 * `ACCESS_FINE_LOCATION` (Android 11 and older) granted, and Bluetooth on (see the README).
 */
@SuppressLint("MissingPermission")
class BleScanner(context: Context) {
    private val context: Context = context.applicationContext

    /**
     * Scans for [timeoutMs] and emits every device whose advertisement passes [filter] (default:
     * names starting with `PROV_`), once per address, as it appears. The flow completes when the
     * time is up; cancel its collection (or take `first { ... }`) to stop earlier. Fails with
     * [GattLinkException.Unreachable] when Bluetooth is off or the scan permission is missing, and
     * with [BleScanException] when Android stops the scan.
     */
    fun scan(
        filter: AdvertisementFilter = AdvertisementFilter(namePrefix = "PROV_", exactName = null, serviceUuids = emptyList()),
        timeoutMs: Long = 10_000,
    ): Flow<FoundDevice> = callbackFlow {
        val adapter = context.getSystemService(BluetoothManager::class.java)?.adapter
        val scanner = adapter?.takeIf { it.isEnabled }?.bluetoothLeScanner
            ?: throw GattLinkException.Unreachable("Bluetooth is off")
        val seen = ConcurrentHashMap.newKeySet<String>()
        val callback = object : ScanCallback() {
            override fun onScanResult(callbackType: Int, result: ScanResult) {
                val record = result.scanRecord
                val name = record?.deviceName
                val uuids = record?.serviceUuids?.map { it.uuid.toString() } ?: emptyList()
                if (advertisementMatches(filter, name, uuids) && seen.add(result.device.address)) {
                    trySend(FoundDevice(result.device, name, result.rssi, uuids))
                }
            }

            override fun onBatchScanResults(results: MutableList<ScanResult>) {
                results.forEach { onScanResult(ScanSettings.CALLBACK_TYPE_ALL_MATCHES, it) }
            }

            override fun onScanFailed(errorCode: Int) {
                close(BleScanException(errorCode))
            }
        }
        val settings = ScanSettings.Builder().setScanMode(ScanSettings.SCAN_MODE_LOW_LATENCY).build()
        try {
            // No hardware filter: name prefixes are not expressible there; the core decides.
            scanner.startScan(emptyList<ScanFilter>(), settings, callback)
        } catch (e: SecurityException) {
            throw GattLinkException.Unreachable("missing Bluetooth permission (BLUETOOTH_SCAN)")
        }
        val timer = launch {
            delay(timeoutMs)
            channel.close()
        }
        awaitClose {
            timer.cancel()
            try {
                scanner.stopScan(callback)
            } catch (e: Exception) {
                // Bluetooth switched off or the permission revoked meanwhile: nothing left to stop
            }
        }
    }
}
