// The library's ready-made HTTP stack for the RainMaker cloud client: java.net.HttpURLConnection
// (the platform's TLS and certificate validation), blocking I/O on Dispatchers.IO. Shipped in the
// Android library (not generated); the JVM binding tests (scripts/kotlin-test.sh) use it against
// the fake RainMaker cloud.
package rainmaker.prov.http

import java.io.ByteArrayOutputStream
import java.io.IOException
import java.io.InputStream
import java.net.HttpURLConnection
import java.net.MalformedURLException
import java.net.SocketTimeoutException
import java.net.URL
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext
import rainmaker.prov.core.HttpBackend
import rainmaker.prov.core.HttpException
import rainmaker.prov.core.HttpHeader
import rainmaker.prov.core.HttpMethod
import rainmaker.prov.core.HttpRequest
import rainmaker.prov.core.HttpResponse

/**
 * An [HttpBackend] on [HttpURLConnection]: `RainMakerCloud(HttpUrlConnectionClient())`.
 *
 * Every answer is returned whatever its status (the body of a 4xx/5xx is read from the error
 * stream); at most [maxBodyBytes] of body are read ([HttpException.TooLarge] beyond). A connection
 * failure is [HttpException.Unreachable], a connect or read timeout [HttpException.Timeout].
 * Redirects are not followed. Nothing is logged: requests carry the access token and passwords.
 */
class HttpUrlConnectionClient(
    private val connectTimeoutMs: Int = 10_000,
    private val readTimeoutMs: Int = 30_000,
    private val maxBodyBytes: Int = MAX_BODY_BYTES,
) : HttpBackend {
    override suspend fun send(request: HttpRequest): HttpResponse =
        withContext(Dispatchers.IO) { sendBlocking(request) }

    /** The same call, blocking the calling thread (never call it on the main thread). */
    fun sendBlocking(request: HttpRequest): HttpResponse {
        val url = try {
            URL(request.url)
        } catch (e: MalformedURLException) {
            throw HttpException.InvalidRequest("malformed URL")
        }
        if (url.protocol != "https" && url.protocol != "http") {
            throw HttpException.InvalidRequest("unsupported scheme ${url.protocol}")
        }
        val connection = try {
            url.openConnection() as HttpURLConnection
        } catch (e: IOException) {
            throw HttpException.Unreachable(describe(e))
        }
        try {
            connection.connectTimeout = connectTimeoutMs
            connection.readTimeout = readTimeoutMs
            connection.instanceFollowRedirects = false
            connection.useCaches = false
            connection.requestMethod = when (request.method) {
                HttpMethod.GET -> "GET"
                HttpMethod.POST -> "POST"
                HttpMethod.PUT -> "PUT"
            }
            for (header in request.headers) {
                connection.addRequestProperty(header.name, header.value)
            }
            if (request.method != HttpMethod.GET) {
                connection.doOutput = true
                connection.setFixedLengthStreamingMode(request.body.size)
                connection.outputStream.use { it.write(request.body) }
            }
            val status = connection.responseCode
            if (status < 0) throw HttpException.Unreachable("not a valid HTTP answer")
            if (connection.contentLengthLong > maxBodyBytes) {
                throw HttpException.TooLarge(maxBodyBytes.toULong())
            }
            val stream: InputStream? = if (status >= 400) connection.errorStream else connection.inputStream
            val body = stream?.use { readBounded(it) } ?: ByteArray(0)
            val headers = connection.headerFields.entries
                .filter { it.key != null }
                .flatMap { (name, values) -> values.map { HttpHeader(name, it) } }
            return HttpResponse(status.toUShort(), headers, body)
        } catch (e: HttpException) {
            throw e
        } catch (e: SocketTimeoutException) {
            throw HttpException.Timeout()
        } catch (e: IOException) {
            throw HttpException.Unreachable(describe(e))
        } catch (e: IllegalArgumentException) {
            // An invalid header name or value: nothing was sent.
            throw HttpException.InvalidRequest("invalid request: ${e.javaClass.simpleName}")
        } catch (e: RuntimeException) {
            throw HttpException.Unreachable(describe(e))
        } finally {
            connection.disconnect()
        }
    }

    /** Reads the body, refusing more than [maxBodyBytes]. */
    private fun readBounded(stream: InputStream): ByteArray {
        val out = ByteArrayOutputStream()
        val buffer = ByteArray(8 * 1024)
        while (true) {
            val n = stream.read(buffer)
            if (n < 0) break
            if (out.size() + n > maxBodyBytes) throw HttpException.TooLarge(maxBodyBytes.toULong())
            out.write(buffer, 0, n)
        }
        return out.toByteArray()
    }

    // The exception's class and message: no request data (URLs carry no secrets; headers and
    // bodies are never part of an I/O exception's message).
    private fun describe(e: Exception): String = listOfNotNull(e.javaClass.simpleName, e.message).joinToString(": ")

    companion object {
        /** The largest body the cloud client accepts (the core's `MAX_RESPONSE_BODY`). */
        const val MAX_BODY_BYTES: Int = 64 * 1024
    }
}
