// The library's ready-made GattLink on android.bluetooth: `ProvDevice.ble(AndroidGattLink(...), options)`.
// A thin bridge from BluetoothGatt's callbacks to suspend functions; everything protocol-specific
// (service choice, endpoint names, timeouts, payload limits, error meaning) is the Rust GATT
// driver's. Needs the Android SDK: scripts/kotlin-test.sh (plain JVM) does not compile this
// directory; the same GattLink interface is exercised there by a Kotlin fake peripheral.
package rainmaker.prov.ble

import android.annotation.SuppressLint
import android.bluetooth.BluetoothDevice
import android.bluetooth.BluetoothGatt
import android.bluetooth.BluetoothGattCallback
import android.bluetooth.BluetoothGattCharacteristic
import android.bluetooth.BluetoothGattDescriptor
import android.bluetooth.BluetoothManager
import android.bluetooth.BluetoothProfile
import android.bluetooth.BluetoothStatusCodes
import android.content.Context
import android.os.Build
import java.util.UUID
import java.util.concurrent.atomic.AtomicReference
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock
import rainmaker.prov.core.GattCharacteristicInfo
import rainmaker.prov.core.GattLink
import rainmaker.prov.core.GattLinkException
import rainmaker.prov.core.GattServiceInfo
import rainmaker.prov.gattStatusError

/**
 * A [GattLink] to one BLE peripheral over `android.bluetooth`, for `ProvDevice.ble(link, options)`.
 *
 * - One GATT operation in flight at a time (a [Mutex]; Android drops a second one silently).
 * - `connect()` connects over LE (`autoConnect = false`) and then requests an MTU of [REQUESTED_MTU];
 *   a refused MTU request leaves the default (23) and is not an error.
 * - Writes are with response (`WRITE_TYPE_DEFAULT`): Android turns a value longer than one ATT
 *   packet into a long (prepared) write itself, so [writeLimit] is `null` (no limit below the
 *   driver's own). Pass `longWrites = false` for a peripheral that refuses prepared writes: the
 *   limit is then `mtu - 3` and the driver refuses larger requests with `PayloadTooLarge` before
 *   writing anything. Reads of long values are reassembled by Android (read blob).
 * - A connection-state change to disconnected fails the pending operation with
 *   [GattLinkException.Disconnected] ([GattLinkException.Unreachable] while connecting); a GATT
 *   status other than success maps through `gattStatusError` (ATT errors 0x01-0x7F from the
 *   peripheral: `Refused`; Android's own codes such as 133: `Failed`).
 * - A missing `BLUETOOTH_CONNECT` permission (Android 12+) or Bluetooth switched off is
 *   [GattLinkException.Unreachable].
 * - An operation abandoned by the driver (its timeout) tears the connection down: Android would
 *   still deliver its callback later, so the link is not reused; the next `connect()` reconnects.
 *
 * [advertisedServices] are the service UUIDs of the device's advertisement (`FoundDevice` from
 * [BleScanner] passes them), used by the driver to pick the provisioning service.
 */
@SuppressLint("MissingPermission")
class AndroidGattLink(
    context: Context,
    private val device: BluetoothDevice,
    private val advertisedServices: List<String> = emptyList(),
    private val longWrites: Boolean = true,
) : GattLink {
    private val context: Context = context.applicationContext
    private val mutex = Mutex()
    private val pending = AtomicReference<Pending?>(null)

    @Volatile private var gatt: BluetoothGatt? = null
    @Volatile private var connected = false
    @Volatile private var mtu = DEFAULT_MTU

    private enum class Op { CONNECT, MTU, DISCOVER, READ_DESCRIPTOR, WRITE, READ }

    /** The one operation in flight and its outcome (bytes for reads, empty otherwise). */
    private class Pending(val op: Op) {
        val result = CompletableDeferred<ByteArray>()
    }

    override suspend fun connect() {
        mutex.withLock {
            if (connected && gatt != null) return
            closeGatt()
            val adapter = context.getSystemService(BluetoothManager::class.java)?.adapter
            if (adapter == null || !adapter.isEnabled) throw GattLinkException.Unreachable("Bluetooth is off")
            runLocked(Op.CONNECT) {
                val opened = device.connectGatt(context, false, callback, BluetoothDevice.TRANSPORT_LE)
                gatt = opened
                opened != null
            }
            // Best effort: the driver works with the default MTU too (Android then writes long).
            try {
                runLocked(Op.MTU) { link().requestMtu(REQUESTED_MTU) }
            } catch (e: GattLinkException.Refused) {
                // keep the default MTU
            } catch (e: GattLinkException.Failed) {
                // keep the default MTU
            }
        }
    }

    override suspend fun discoverServices(): List<GattServiceInfo> =
        mutex.withLock {
            runLocked(Op.DISCOVER) { link().discoverServices() }
            link().services.map { service ->
                GattServiceInfo(
                    service.uuid.toString(),
                    service.characteristics.map { c ->
                        GattCharacteristicInfo(c.uuid.toString(), c.descriptors.map { it.uuid.toString() })
                    },
                )
            }
        }

    override suspend fun readDescriptor(service: String, characteristic: String, descriptor: String): ByteArray =
        mutex.withLock {
            runLocked(Op.READ_DESCRIPTOR) {
                val g = link()
                val d = g.characteristic(service, characteristic).getDescriptor(uuid(descriptor))
                    ?: throw GattLinkException.Failed("no descriptor $descriptor on $characteristic")
                g.readDescriptor(d)
            }
        }

    @Suppress("DEPRECATION") // the pre-Android-13 write, used only there
    override suspend fun writeCharacteristic(service: String, characteristic: String, value: ByteArray) {
        mutex.withLock {
            runLocked(Op.WRITE) {
                val g = link()
                val c = g.characteristic(service, characteristic)
                val type = BluetoothGattCharacteristic.WRITE_TYPE_DEFAULT
                if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.TIRAMISU) {
                    g.writeCharacteristic(c, value, type) == BluetoothStatusCodes.SUCCESS
                } else {
                    c.writeType = type
                    c.setValue(value)
                    g.writeCharacteristic(c)
                }
            }
        }
    }

    override suspend fun readCharacteristic(service: String, characteristic: String): ByteArray =
        mutex.withLock {
            runLocked(Op.READ) {
                val g = link()
                g.readCharacteristic(g.characteristic(service, characteristic))
            }
        }

    override fun writeLimit(): UInt? = if (longWrites) null else (mtu - ATT_HEADER).coerceAtLeast(20).toUInt()

    override fun advertisedServices(): List<String> = advertisedServices

    override suspend fun disconnect() {
        fail(GattLinkException.Disconnected("disconnected by the app"))
        closeGatt()
    }

    /**
     * Starts one operation with [start] (false: Android refused to start it) and waits for the
     * callback that completes it. The caller holds [mutex].
     */
    private suspend fun runLocked(op: Op, start: () -> Boolean): ByteArray {
        val current = Pending(op)
        pending.set(current)
        try {
            val started = try {
                start()
            } catch (e: SecurityException) {
                throw GattLinkException.Unreachable("missing Bluetooth permission (BLUETOOTH_CONNECT)")
            } catch (e: IllegalArgumentException) {
                throw GattLinkException.Failed("invalid argument: ${e.message}")
            }
            if (!started) {
                if (op == Op.CONNECT) throw GattLinkException.Unreachable("connectGatt failed")
                throw GattLinkException.Failed("Android refused to start $op (busy or link down)")
            }
            return current.result.await()
        } catch (e: CancellationException) {
            // Abandoned (the driver's timeout): Android still has it in flight; do not reuse the link.
            connected = false
            closeGatt()
            throw e
        } finally {
            pending.compareAndSet(current, null)
        }
    }

    /** The connected BluetoothGatt, or [GattLinkException.Disconnected]. */
    private fun link(): BluetoothGatt =
        gatt?.takeIf { connected } ?: throw GattLinkException.Disconnected("not connected")

    private fun complete(op: Op, status: Int, value: ByteArray) {
        val current = pending.get() ?: return
        if (current.op != op) return
        if (status == BluetoothGatt.GATT_SUCCESS) {
            current.result.complete(value)
        } else {
            current.result.completeExceptionally(gattStatusError(status, op.name.lowercase()))
        }
    }

    private fun fail(error: GattLinkException) {
        pending.getAndSet(null)?.result?.completeExceptionally(error)
    }

    private fun closeGatt() {
        val g = gatt ?: return
        gatt = null
        connected = false
        try {
            g.disconnect()
            g.close()
        } catch (e: Exception) {
            // best effort: a missing permission or a dead Bluetooth service leaves nothing to close
        }
    }

    private val callback = object : BluetoothGattCallback() {
        override fun onConnectionStateChange(g: BluetoothGatt, status: Int, newState: Int) {
            val current = gatt
            if (current != null && g !== current) return
            if (newState == BluetoothProfile.STATE_CONNECTED && status == BluetoothGatt.GATT_SUCCESS) {
                connected = true
                complete(Op.CONNECT, status, EMPTY)
                return
            }
            if (newState != BluetoothProfile.STATE_DISCONNECTED && status == BluetoothGatt.GATT_SUCCESS) return
            val wasConnecting = pending.get()?.op == Op.CONNECT
            connected = false
            fail(
                if (wasConnecting) {
                    GattLinkException.Unreachable("connection failed (GATT status $status)")
                } else {
                    GattLinkException.Disconnected("the peripheral disconnected (GATT status $status)")
                },
            )
            if (gatt === g) gatt = null
            g.close()
        }

        override fun onMtuChanged(g: BluetoothGatt, newMtu: Int, status: Int) {
            if (status == BluetoothGatt.GATT_SUCCESS) mtu = newMtu
            complete(Op.MTU, status, EMPTY)
        }

        override fun onServicesDiscovered(g: BluetoothGatt, status: Int) = complete(Op.DISCOVER, status, EMPTY)

        override fun onCharacteristicWrite(g: BluetoothGatt, c: BluetoothGattCharacteristic, status: Int) =
            complete(Op.WRITE, status, EMPTY)

        // Android 13+: the value arrives as an argument (these override the deprecated forms below,
        // which Android 13+ no longer calls once these are overridden).
        override fun onCharacteristicRead(g: BluetoothGatt, c: BluetoothGattCharacteristic, value: ByteArray, status: Int) =
            complete(Op.READ, status, value)

        override fun onDescriptorRead(g: BluetoothGatt, d: BluetoothGattDescriptor, status: Int, value: ByteArray) =
            complete(Op.READ_DESCRIPTOR, status, value)

        // Android 12 and older.
        @Deprecated("Android 12 and older")
        @Suppress("DEPRECATION")
        override fun onCharacteristicRead(g: BluetoothGatt, c: BluetoothGattCharacteristic, status: Int) =
            complete(Op.READ, status, c.value ?: EMPTY)

        @Deprecated("Android 12 and older")
        @Suppress("DEPRECATION")
        override fun onDescriptorRead(g: BluetoothGatt, d: BluetoothGattDescriptor, status: Int) =
            complete(Op.READ_DESCRIPTOR, status, d.value ?: EMPTY)
    }

    private fun BluetoothGatt.characteristic(service: String, characteristic: String): BluetoothGattCharacteristic =
        getService(uuid(service))?.getCharacteristic(uuid(characteristic))
            ?: throw GattLinkException.Failed("no characteristic $characteristic in service $service")

    private companion object {
        /** The largest ATT MTU (512 bytes of value + 5); Android grants what both sides support. */
        const val REQUESTED_MTU = 517
        const val DEFAULT_MTU = 23
        const val ATT_HEADER = 3
        val EMPTY = ByteArray(0)

        fun uuid(text: String): UUID =
            try {
                UUID.fromString(text)
            } catch (e: IllegalArgumentException) {
                throw GattLinkException.Failed("malformed UUID $text")
            }
    }
}
