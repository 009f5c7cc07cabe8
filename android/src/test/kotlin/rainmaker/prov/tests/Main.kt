// Entry point of the Kotlin binding tests (scripts/kotlin-test.sh).
package rainmaker.prov.tests

import kotlin.system.exitProcess
import kotlinx.coroutines.delay
import rainmaker.prov.LinkKind
import rainmaker.prov.ProvTransport
import rainmaker.prov.TransportFailure
import rainmaker.prov.libraryVersion
import rainmaker.prov.probeExchange

/** Answers every request with its bytes reversed, after a suspension. */
class ReversingTransport : ProvTransport {
    override suspend fun send(endpoint: String, data: ByteArray): ByteArray {
        delay(1)
        return data.reversedArray()
    }
    override fun maxPayload(): UInt = 0u
    override fun linkKind(): LinkKind = LinkKind.OTHER
    override suspend fun disconnect() {}
}

class ThrowingTransport(private val error: Exception) : ProvTransport {
    override suspend fun send(endpoint: String, data: ByteArray): ByteArray = throw error
    override fun maxPayload(): UInt = 0u
    override fun linkKind(): LinkKind = LinkKind.OTHER
    override suspend fun disconnect() {}
}

fun main() {
    val t = TestRunner()
    t.test("library version is the crate version") {
        check(libraryVersion().matches(Regex("""\d+\.\d+\.\d+.*"""))) { "version ${libraryVersion()}" }
    }
    t.test("async call into Rust reaches a Kotlin suspend transport") {
        val answer = probeExchange(ReversingTransport(), "proto-ver", byteArrayOf(1, 2, 3))
        checkEquals(listOf<Byte>(3, 2, 1), answer.toList(), "answer")
    }
    t.test("an app exception in the transport arrives as TransportFailure.Failed") {
        val e = expectThrows<TransportFailure.Failed>("send") {
            probeExchange(ThrowingTransport(IllegalStateException("radio off")), "prov-session", byteArrayOf())
        }
        check(e.detail.contains("radio off")) { "detail ${e.detail}" }
    }
    t.test("a typed transport exception keeps its type") {
        expectThrows<TransportFailure.Timeout>("send") {
            probeExchange(ThrowingTransport(TransportFailure.Timeout(1500u)), "prov-session", byteArrayOf())
        }
    }
    exitProcess(t.finish())
}
