using System.Buffers.Binary;
using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Npgsql;

namespace PgArchive.Streaming.Protocol;

/// <summary>One backend message: its type byte and its payload, valid until the next read.</summary>
internal readonly record struct BackendMessage(byte Type, ReadOnlyMemory<byte> Payload);

/// <summary>
/// A PostgreSQL frontend/backend protocol (v3) connection for what Npgsql's replication API does not carry:
/// <c>BASE_BACKUP</c>'s COPY-out archives, end-of-timeline CopyDone during <c>START_REPLICATION</c>, and standby
/// status updates whose write position is ours to set. Speaks the simple-query and COPY sub-protocols only;
/// authenticates with trust, password, md5 or SCRAM-SHA-256; TLS by <c>sslmode</c>. One reader and one writer may
/// run at once (status updates are sent while messages are read); writes are serialized.
/// </summary>
internal sealed class PgWireConnection : IAsyncDisposable
{
    private const int MaxMessageSize = 256 << 20;
    private readonly Stream _stream;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private byte[] _buffer = new byte[1 << 16];
    private readonly byte[] _header = new byte[5];

    private PgWireConnection(Stream stream, string endpoint)
    {
        _stream = stream;
        Endpoint = endpoint;
    }

    /// <summary><c>host:port as user 'name'</c>, for messages.</summary>
    public string Endpoint { get; }

    /// <summary>The server's <c>server_version</c>, e.g. <c>15.8 (Debian 15.8-0+deb12u1)</c>.</summary>
    public string ServerVersion { get; private set; } = "";

    /// <summary><c>server_version_num</c> as PostgreSQL computes it (150008), from <see cref="ServerVersion"/>.</summary>
    public int ServerVersionNum { get; private set; }

    /// <summary>Called with each NoticeResponse (WARNING, NOTICE) the server sends: severity and message.</summary>
    public Action<string, string>? Notice { get; set; }

    /// <summary>Connects to the first host that answers, authenticates and waits for ReadyForQuery.</summary>
    /// <param name="settings">Where and as whom.</param>
    /// <param name="replication">True for a physical replication (walsender) connection.</param>
    /// <param name="cancellationToken">Cancels the attempt.</param>
    public static async Task<PgWireConnection> OpenAsync(PgConnectionSettings settings, bool replication, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        PgArchiveException? last = null;
        foreach (var host in settings.Hosts)
        {
            Stream? stream = null;
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(settings.ConnectTimeout);
                stream = await ConnectAsync(settings, host, timeout.Token).ConfigureAwait(false);
                var connection = new PgWireConnection(stream, settings.Describe(host));
                try
                {
                    await connection.StartupAsync(settings, host, replication, timeout.Token).ConfigureAwait(false);
                    return connection;
                }
                catch
                {
                    await connection.DisposeAsync().ConfigureAwait(false);
                    stream = null;
                    throw;
                }
            }
            catch (Exception ex) when (ex is SocketException or IOException or AuthenticationException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                if (stream is not null)
                {
                    await stream.DisposeAsync().ConfigureAwait(false);
                }

                var reason = ex is OperationCanceledException ? $"no answer within {settings.ConnectTimeout.TotalSeconds:0} s" : ex.Message.ReplaceLineEndings(" ");
                last = new PgArchiveException($"Cannot connect to PostgreSQL at {settings.Describe(host)}: {reason}", ex);
            }
            catch (PgServerException ex) when (ex.SqlState is "57P03" or "53300")
            {
                last = ex; // starting up, or too many connections: another host may serve
            }
        }

        throw last ?? new PgArchiveException("No PostgreSQL host to connect to (PGHOST is empty).");
    }

    private static async Task<Stream> ConnectAsync(PgConnectionSettings settings, string host, CancellationToken cancellationToken)
    {
        if (host.StartsWith('/') || host.StartsWith('@'))
        {
            var path = host.StartsWith('@') ? "\0" + host[1..] : host;
            var socketPath = string.Create(CultureInfo.InvariantCulture, $"{path}/.s.PGSQL.{settings.Port}");
            var unix = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await unix.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                unix.Dispose();
                throw;
            }

            return new NetworkStream(unix, ownsSocket: true);
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            await socket.ConnectAsync(host, settings.Port, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        Stream stream = new NetworkStream(socket, ownsSocket: true);
        if (settings.SslMode is SslMode.Disable or SslMode.Allow)
        {
            return stream;
        }

        var request = new byte[8];
        BinaryPrimitives.WriteInt32BigEndian(request, 8);
        BinaryPrimitives.WriteInt32BigEndian(request.AsSpan(4), 80877103);
        await stream.WriteAsync(request, cancellationToken).ConfigureAwait(false);
        var answer = new byte[1];
        await stream.ReadExactlyAsync(answer, cancellationToken).ConfigureAwait(false);
        if (answer[0] != (byte)'S')
        {
            if (settings.SslMode is SslMode.Require or SslMode.VerifyCA or SslMode.VerifyFull)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
                throw new PgArchiveException($"PostgreSQL at {settings.Describe(host)} does not accept SSL connections, and sslmode is {settings.SslMode}.");
            }

            return stream;
        }

        var tls = new SslStream(stream, leaveInnerStreamOpen: false);
        try
        {
            await tls.AuthenticateAsClientAsync(TlsOptions(settings, host), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await tls.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return tls;
    }

    private static SslClientAuthenticationOptions TlsOptions(PgConnectionSettings settings, string host)
    {
        var options = new SslClientAuthenticationOptions { TargetHost = host };
        if (settings.ClientCertificate is { } certificate)
        {
            options.ClientCertificates = [X509Certificate2.CreateFromPemFile(certificate, settings.ClientKey)];
        }

        var verify = settings.SslMode is SslMode.VerifyCA or SslMode.VerifyFull;
        X509Certificate2Collection? roots = null;
        if (verify && settings.RootCertificate is { } rootFile)
        {
            roots = [];
            roots.ImportFromPemFile(rootFile);
        }

        options.RemoteCertificateValidationCallback = (_, cert, chain, errors) =>
        {
            if (!verify)
            {
                return true; // prefer / require: encrypted, not authenticated (libpq's behaviour without a root certificate)
            }

            if (settings.SslMode == SslMode.VerifyFull && (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
            {
                return false;
            }

            if (roots is null || cert is null)
            {
                return (errors & ~SslPolicyErrors.RemoteCertificateNameMismatch) == SslPolicyErrors.None;
            }

            using var custom = new X509Chain();
            custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            custom.ChainPolicy.CustomTrustStore.AddRange(roots);
            custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return custom.Build(new X509Certificate2(cert));
        };
        return options;
    }

    private async Task StartupAsync(PgConnectionSettings settings, string host, bool replication, CancellationToken cancellationToken)
    {
        var parameters = new List<(string, string)> { ("user", settings.User), ("client_encoding", "UTF8"), ("application_name", settings.ApplicationName) };
        if (replication)
        {
            parameters.Add(("replication", "true"));
        }
        else
        {
            parameters.Add(("database", settings.Database));
        }

        var body = new MemoryStream();
        Span<byte> version = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(version, 196608);
        body.Write(version);
        foreach (var (name, value) in parameters)
        {
            WriteCString(body, name);
            WriteCString(body, value);
        }

        body.WriteByte(0);
        var startup = new byte[body.Length + 4];
        BinaryPrimitives.WriteInt32BigEndian(startup, startup.Length);
        body.ToArray().CopyTo(startup, 4);
        await WriteRawAsync(startup, cancellationToken).ConfigureAwait(false);

        ScramSha256Client? scram = null;
        while (true)
        {
            var message = await ReadMessageAsync(cancellationToken).ConfigureAwait(false);
            switch ((char)message.Type)
            {
                case 'R':
                    var code = BinaryPrimitives.ReadInt32BigEndian(message.Payload.Span);
                    var data = message.Payload[4..];
                    switch (code)
                    {
                        case 0:
                            break;
                        case 3:
                            await SendPasswordAsync(Encoding.UTF8.GetBytes(RequirePassword(settings, host) + "\0"), cancellationToken).ConfigureAwait(false);
                            break;
                        case 5:
                            await SendPasswordAsync(Encoding.ASCII.GetBytes(Md5Password(settings.User, RequirePassword(settings, host), data.Span[..4]) + "\0"),
                                cancellationToken).ConfigureAwait(false);
                            break;
                        case 10:
                            var mechanisms = Encoding.UTF8.GetString(data.Span).Split('\0', StringSplitOptions.RemoveEmptyEntries);
                            if (!mechanisms.Contains("SCRAM-SHA-256"))
                            {
                                throw new PgArchiveException(
                                    $"PostgreSQL at {Endpoint} asks for SASL mechanisms {string.Join(", ", mechanisms)}; pgarchive's replication client speaks SCRAM-SHA-256.");
                            }

                            scram = new ScramSha256Client(RequirePassword(settings, host));
                            await SendSaslInitialAsync("SCRAM-SHA-256", scram.ClientFirstMessage(), cancellationToken).ConfigureAwait(false);
                            break;
                        case 11:
                            var final = scram?.ClientFinalMessage(data.Span) ?? throw Protocol("SASLContinue before SASL started");
                            await SendPasswordAsync(final, cancellationToken).ConfigureAwait(false);
                            break;
                        case 12:
                            if (scram is null || !scram.VerifyServerFinal(data.Span))
                            {
                                throw new PgArchiveException($"PostgreSQL at {Endpoint} failed SCRAM-SHA-256 server verification: the server does not know the password it claims to check.");
                            }

                            break;
                        default:
                            throw new PgArchiveException(string.Create(CultureInfo.InvariantCulture,
                                $"PostgreSQL at {Endpoint} asks for authentication method {code} (Kerberos, GSSAPI or SSPI); pgarchive's replication client speaks trust, password, md5 and scram-sha-256: change pg_hba.conf for this user."));
                    }

                    break;
                case 'E':
                    throw Error(message.Payload.Span, "Cannot connect to PostgreSQL at " + Endpoint);
                case 'S':
                    ReadParameterStatus(message.Payload.Span);
                    break;
                case 'K':
                case 'N':
                    break;
                case 'Z':
                    return;
                default:
                    throw Protocol(string.Create(CultureInfo.InvariantCulture, $"unexpected message '{(char)message.Type}' during start-up"));
            }
        }
    }

    private string RequirePassword(PgConnectionSettings settings, string host) =>
        settings.PasswordFor(host) ?? throw new PgArchiveConfigurationException(
            $"PostgreSQL at {Endpoint} asks for a password and none is given: set PGPASSWORD, a password file (PGPASSFILE, ~/.pgpass) or Password in the connection string.");

    private static string Md5Password(string user, string password, ReadOnlySpan<byte> salt)
    {
#pragma warning disable CA5351 // PostgreSQL's md5 authentication is defined with MD5
        var inner = Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(password + user)));
        var outer = MD5.HashData([.. Encoding.ASCII.GetBytes(inner), .. salt]);
#pragma warning restore CA5351
        return "md5" + Convert.ToHexStringLower(outer);
    }

    private void ReadParameterStatus(ReadOnlySpan<byte> payload)
    {
        var zero = payload.IndexOf((byte)0);
        var name = Encoding.UTF8.GetString(payload[..zero]);
        var value = Encoding.UTF8.GetString(payload[(zero + 1)..].TrimEnd((byte)0));
        if (name == "server_version")
        {
            ServerVersion = value;
            ServerVersionNum = ParseVersionNum(value);
        }
    }

    /// <summary>150008 from "15.8 (Debian ...)", 170000 from "17.0", 90624 from "9.6.24".</summary>
    internal static int ParseVersionNum(string version)
    {
        var digits = new string(version.TakeWhile(c => char.IsAsciiDigit(c) || c == '.').ToArray()).Split('.', StringSplitOptions.RemoveEmptyEntries);
        var numbers = digits.Select(d => int.Parse(d, CultureInfo.InvariantCulture)).ToArray();
        if (numbers.Length == 0)
        {
            return 0;
        }

        return numbers[0] >= 10
            ? numbers[0] * 10000 + (numbers.Length > 1 ? numbers[1] : 0)
            : numbers[0] * 10000 + (numbers.Length > 1 ? numbers[1] * 100 : 0) + (numbers.Length > 2 ? numbers[2] : 0);
    }

    /// <summary>Runs one simple query and returns the rows of every result set it produced, in order.</summary>
    public Task<List<byte[]?[]>> QueryAsync(string sql, CancellationToken cancellationToken) => QueryAsync(sql, null, cancellationToken);

    /// <summary>
    /// Runs a command that answers with CopyInResponse (<c>UPLOAD_MANIFEST</c>): sends <paramref name="data"/> as CopyData
    /// messages of at most 64 KiB and CopyDone, and waits for ReadyForQuery; a server error is thrown in one line.
    /// </summary>
    public Task CopyInAsync(string sql, ReadOnlyMemory<byte> data, CancellationToken cancellationToken) => QueryAsync(sql, data, cancellationToken);

    private async Task<List<byte[]?[]>> QueryAsync(string sql, ReadOnlyMemory<byte>? copyIn, CancellationToken cancellationToken)
    {
        await SendQueryAsync(sql, cancellationToken).ConfigureAwait(false);
        var rows = new List<byte[]?[]>();
        PgServerException? error = null;
        while (true)
        {
            var message = await ReadAsync(cancellationToken).ConfigureAwait(false);
            switch ((char)message.Type)
            {
                case 'T':
                case 'C':
                case 'I':
                    break;
                case 'D':
                    rows.Add(ReadDataRow(message.Payload.Span));
                    break;
                case 'G' when copyIn is { } data:
                    for (var offset = 0; offset < data.Length; offset += 1 << 16)
                    {
                        await SendCopyDataAsync(data.Slice(offset, Math.Min(1 << 16, data.Length - offset)), cancellationToken).ConfigureAwait(false);
                    }

                    await SendCopyDoneAsync(cancellationToken).ConfigureAwait(false);
                    break;
                case 'E':
                    error ??= Error(message.Payload.Span, $"{Head(sql)} on PostgreSQL at {Endpoint}");
                    if (error.IsFatal)
                    {
                        throw error;
                    }

                    break;
                case 'Z':
                    return error is null ? rows : throw error;
                default:
                    throw Protocol(string.Create(CultureInfo.InvariantCulture, $"unexpected message '{(char)message.Type}' in reply to {Head(sql)}"));
            }
        }
    }

    /// <summary>The columns of a DataRow, in text (or raw) form; null for SQL NULL.</summary>
    public static byte[]?[] ReadDataRow(ReadOnlySpan<byte> payload)
    {
        var count = BinaryPrimitives.ReadInt16BigEndian(payload);
        var columns = new byte[]?[count];
        var offset = 2;
        for (var i = 0; i < count; i++)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(payload[offset..]);
            offset += 4;
            if (length >= 0)
            {
                columns[i] = payload.Slice(offset, length).ToArray();
                offset += length;
            }
        }

        return columns;
    }

    /// <summary>A column as text (UTF-8), or null.</summary>
    public static string? Text(byte[]? column) => column is null ? null : Encoding.UTF8.GetString(column);

    /// <summary>Sends a simple query without reading its reply.</summary>
    public Task SendQueryAsync(string sql, CancellationToken cancellationToken)
    {
        var text = Encoding.UTF8.GetByteCount(sql);
        var message = new byte[1 + 4 + text + 1];
        message[0] = (byte)'Q';
        BinaryPrimitives.WriteInt32BigEndian(message.AsSpan(1), message.Length - 1);
        Encoding.UTF8.GetBytes(sql, message.AsSpan(5));
        return WriteRawAsync(message, cancellationToken);
    }

    /// <summary>Sends a CopyData message with <paramref name="data"/>.</summary>
    public Task SendCopyDataAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var message = new byte[5 + data.Length];
        message[0] = (byte)'d';
        BinaryPrimitives.WriteInt32BigEndian(message.AsSpan(1), 4 + data.Length);
        data.Span.CopyTo(message.AsSpan(5));
        return WriteRawAsync(message, cancellationToken);
    }

    /// <summary>Sends CopyDone.</summary>
    public Task SendCopyDoneAsync(CancellationToken cancellationToken) => WriteRawAsync([(byte)'c', 0, 0, 0, 4], cancellationToken);

    /// <summary>
    /// Reads the next message that is not a notice or a parameter status (those are handled here). The payload stays
    /// valid until the next read.
    /// </summary>
    public async ValueTask<BackendMessage> ReadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var message = await ReadMessageAsync(cancellationToken).ConfigureAwait(false);
            switch ((char)message.Type)
            {
                case 'N':
                    var (severity, text) = NoticeText(message.Payload.Span);
                    Notice?.Invoke(severity, text);
                    continue;
                case 'S':
                    ReadParameterStatus(message.Payload.Span);
                    continue;
                case 'A':
                    continue; // NotificationResponse: nothing listens
                default:
                    return message;
            }
        }
    }

    private async ValueTask<BackendMessage> ReadMessageAsync(CancellationToken cancellationToken)
    {
        await _stream.ReadExactlyAsync(_header, cancellationToken).ConfigureAwait(false);
        var length = BinaryPrimitives.ReadInt32BigEndian(_header.AsSpan(1)) - 4;
        if (length < 0 || length > MaxMessageSize)
        {
            throw Protocol(string.Create(CultureInfo.InvariantCulture, $"a message of {length} bytes"));
        }

        if (length > _buffer.Length)
        {
            _buffer = new byte[Math.Max(length, _buffer.Length * 2)];
        }

        await _stream.ReadExactlyAsync(_buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
        return new BackendMessage(_header[0], _buffer.AsMemory(0, length));
    }

    /// <summary>Turns an ErrorResponse into an exception whose message starts with <paramref name="context"/>.</summary>
    public static PgServerException Error(ReadOnlySpan<byte> payload, string context)
    {
        var fields = Fields(payload);
        var severity = fields.GetValueOrDefault('V') ?? fields.GetValueOrDefault('S') ?? "ERROR";
        var text = fields.GetValueOrDefault('M') ?? "(no message)";
        var detail = fields.GetValueOrDefault('D');
        var hint = fields.GetValueOrDefault('H');
        var message = $"{context}: {text}" + (detail is null ? "" : $" ({detail.ReplaceLineEndings(" ")})") + (hint is null ? "" : $" Hint: {hint.ReplaceLineEndings(" ")}");
        return new PgServerException(message, fields.GetValueOrDefault('C') ?? "", text, severity is "FATAL" or "PANIC");
    }

    /// <summary>An exception for a message the protocol does not allow here.</summary>
    public PgArchiveException Protocol(string what) => new($"PostgreSQL at {Endpoint} broke the replication protocol: {what}.");

    private static (string Severity, string Text) NoticeText(ReadOnlySpan<byte> payload)
    {
        var fields = Fields(payload);
        return (fields.GetValueOrDefault('V') ?? fields.GetValueOrDefault('S') ?? "NOTICE", fields.GetValueOrDefault('M') ?? "");
    }

    private static Dictionary<char, string> Fields(ReadOnlySpan<byte> payload)
    {
        var fields = new Dictionary<char, string>();
        while (payload.Length > 0 && payload[0] != 0)
        {
            var type = (char)payload[0];
            var end = payload[1..].IndexOf((byte)0);
            if (end < 0)
            {
                break;
            }

            fields[type] = Encoding.UTF8.GetString(payload.Slice(1, end));
            payload = payload[(end + 2)..];
        }

        return fields;
    }

    private static string Head(string sql) => sql.Split(' ', 2)[0];

    private Task SendPasswordAsync(byte[] data, CancellationToken cancellationToken)
    {
        var message = new byte[5 + data.Length];
        message[0] = (byte)'p';
        BinaryPrimitives.WriteInt32BigEndian(message.AsSpan(1), 4 + data.Length);
        data.CopyTo(message, 5);
        return WriteRawAsync(message, cancellationToken);
    }

    private Task SendSaslInitialAsync(string mechanism, byte[] data, CancellationToken cancellationToken)
    {
        var name = Encoding.ASCII.GetBytes(mechanism + "\0");
        var body = new byte[name.Length + 4 + data.Length];
        name.CopyTo(body, 0);
        BinaryPrimitives.WriteInt32BigEndian(body.AsSpan(name.Length), data.Length);
        data.CopyTo(body, name.Length + 4);
        return SendPasswordAsync(body, cancellationToken);
    }

    private async Task WriteRawAsync(byte[] message, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _stream.WriteAsync(message, cancellationToken).ConfigureAwait(false);
            await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private static void WriteCString(MemoryStream stream, string value)
    {
        stream.Write(Encoding.UTF8.GetBytes(value));
        stream.WriteByte(0);
    }

    /// <summary>Sends Terminate (best effort) and closes the socket.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            using var quick = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await WriteRawAsync([(byte)'X', 0, 0, 0, 4], quick.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or SocketException)
        {
        }

        await _stream.DisposeAsync().ConfigureAwait(false);
        _writeLock.Dispose();
    }
}
