// The library's ready-made HTTP stack for the RainMaker cloud client: URLSession (the platform's
// TLS and certificate validation). Shipped in the RainmakerProv module next to the generated
// bindings (not generated); the Linux binding tests (scripts/swift-test.sh) use it against the
// fake RainMaker cloud.
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// An `HttpClient` on `URLSession`: `RainMakerCloud(http: URLSessionHttpClient())`.
///
/// Every answer is returned whatever its status; at most `maxBodyBytes` of body are read (the
/// transfer is cancelled and `HttpError.TooLarge` thrown beyond). A connection failure is
/// `HttpError.Unreachable`, a timeout `HttpError.Timeout`. Redirects are not followed, nothing is
/// cached or logged (requests carry the access token and passwords). Cancelling the Swift task
/// cancels the transfer.
public final class URLSessionHttpClient: HttpBackend, @unchecked Sendable {
    /// The largest body the cloud client accepts (the core's `MAX_RESPONSE_BODY`).
    public static let defaultMaxBodyBytes = 64 * 1024

    private let session: URLSession
    private let bridge: SessionBridge
    private let timeout: TimeInterval

    /// A client whose requests time out after `timeout` seconds, reading at most `maxBodyBytes`.
    public init(timeout: TimeInterval = 30, maxBodyBytes: Int = URLSessionHttpClient.defaultMaxBodyBytes) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = timeout
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        configuration.httpCookieStorage = nil
        configuration.httpShouldSetCookies = false
        bridge = SessionBridge(maxBodyBytes: maxBodyBytes)
        session = URLSession(configuration: configuration, delegate: bridge, delegateQueue: nil)
        self.timeout = timeout
    }

    deinit {
        session.finishTasksAndInvalidate()
    }

    public func send(request: HttpRequest) async throws -> HttpResponse {
        guard let url = URL(string: request.url), let scheme = url.scheme?.lowercased(),
              scheme == "https" || scheme == "http" else {
            throw HttpError.InvalidRequest(detail: "malformed or unsupported URL")
        }
        var urlRequest = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        switch request.method {
        case .get: urlRequest.httpMethod = "GET"
        case .post: urlRequest.httpMethod = "POST"
        case .put: urlRequest.httpMethod = "PUT"
        }
        for header in request.headers {
            urlRequest.addValue(header.value, forHTTPHeaderField: header.name)
        }
        if request.method != .get {
            urlRequest.httpBody = request.body
        }
        let task = session.dataTask(with: urlRequest)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HttpResponse, Error>) in
                bridge.register(task, continuation)
                task.resume()
            }
        } onCancel: {
            task.cancel()
        }
    }
}

/// The session delegate: collects each task's body (bounded) and resumes its continuation once.
private final class SessionBridge: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private struct Pending {
        let continuation: CheckedContinuation<HttpResponse, Error>
        var response: HTTPURLResponse?
        var body = Data()
        var tooLarge = false
    }

    private let maxBodyBytes: Int
    private let lock = NSLock()
    private var pending: [Int: Pending] = [:]

    init(maxBodyBytes: Int) {
        self.maxBodyBytes = maxBodyBytes
    }

    func register(_ task: URLSessionTask, _ continuation: CheckedContinuation<HttpResponse, Error>) {
        lock.lock()
        pending[task.taskIdentifier] = Pending(continuation: continuation)
        lock.unlock()
    }

    private func update(_ task: URLSessionTask, _ body: (inout Pending) -> Void) {
        lock.lock()
        if var entry = pending[task.taskIdentifier] {
            body(&entry)
            pending[task.taskIdentifier] = entry
        }
        lock.unlock()
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        let http = response as? HTTPURLResponse
        let tooLarge = response.expectedContentLength > Int64(maxBodyBytes)
        update(dataTask) { entry in
            entry.response = http
            entry.tooLarge = tooLarge
        }
        completionHandler(tooLarge ? .cancel : .allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        var cancel = false
        update(dataTask) { entry in
            if entry.body.count + data.count > maxBodyBytes {
                entry.tooLarge = true
                cancel = true
            } else {
                entry.body.append(data)
            }
        }
        if cancel { dataTask.cancel() }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        completionHandler(nil)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        lock.lock()
        let entry = pending.removeValue(forKey: task.taskIdentifier)
        lock.unlock()
        guard let entry else { return }
        if entry.tooLarge {
            entry.continuation.resume(throwing: HttpError.TooLarge(limit: UInt64(maxBodyBytes)))
        } else if let error {
            entry.continuation.resume(throwing: Self.map(error))
        } else if let response = entry.response {
            let headers = response.allHeaderFields.compactMap { key, value -> HttpHeader? in
                guard let name = key as? String else { return nil }
                return HttpHeader(name: name, value: String(describing: value))
            }
            entry.continuation.resume(returning: HttpResponse(
                status: UInt16(clamping: response.statusCode), headers: headers, body: entry.body))
        } else {
            entry.continuation.resume(throwing: HttpError.Unreachable(detail: "not an HTTP answer"))
        }
    }

    /// A URLSession failure as an `HttpError` (its code, never the request).
    private static func map(_ error: Error) -> HttpError {
        guard let urlError = error as? URLError else {
            return .Unreachable(detail: String(describing: type(of: error)))
        }
        switch urlError.code {
        case .timedOut:
            return .Timeout
        case .badURL, .unsupportedURL:
            return .InvalidRequest(detail: "URLError \(urlError.code.rawValue)")
        default:
            return .Unreachable(detail: "URLError \(urlError.code.rawValue)")
        }
    }
}
