using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using PgArchive.IO;
using PgArchive.PostgresTypes;
using PgArchive.Streaming.Protocol;

namespace PgArchive.Streaming;

/// <summary>One tablespace as BASE_BACKUP lists it: its OID and location (null for the data directory).</summary>
internal sealed record BaseBackupTablespace(string? Oid, string? Location);

/// <summary>One archive of a BASE_BACKUP: its name (<c>base.tar</c>, <c>16390.tar</c>), the tablespace location (empty for the data directory) and its tar bytes.</summary>
internal sealed record BaseBackupArchive(string Name, string Location, Stream Content);

/// <summary>
/// The replication protocol's <c>BASE_BACKUP</c> (PostgreSQL 15 and later: one COPY-out stream of typed messages): the
/// start position, the tablespaces, then each archive's tar bytes in turn, then the backup manifest, then the end
/// position. The archives are read as they arrive (nothing is spooled); each must be read to its end before the next.
/// </summary>
internal sealed class BaseBackupStream
{
    private readonly PgWireConnection _connection;
    private ReadOnlyMemory<byte> _chunk;
    private byte[]? _pending;
    private bool _copyDone;

    private BaseBackupStream(PgWireConnection connection, Lsn start, uint timeline, IReadOnlyList<BaseBackupTablespace> tablespaces)
    {
        _connection = connection;
        StartLsn = start;
        Timeline = timeline;
        Tablespaces = tablespaces;
    }

    public Lsn StartLsn { get; }

    public uint Timeline { get; }

    public IReadOnlyList<BaseBackupTablespace> Tablespaces { get; }

    /// <summary>The backup manifest, once every archive was read.</summary>
    public byte[]? Manifest { get; private set; }

    /// <summary>
    /// Starts the backup: <c>BASE_BACKUP (LABEL, CHECKPOINT 'fast', WAL false, MANIFEST 'yes', TABLESPACE_MAP, MAX_RATE, INCREMENTAL)</c>;
    /// returns once the server sent where it starts and which tablespaces it holds. With <paramref name="priorManifest"/>
    /// (PostgreSQL 17+), that backup's manifest is sent first with <c>UPLOAD_MANIFEST</c> and the backup is incremental
    /// on it: changed relation files come as <c>INCREMENTAL.&lt;name&gt;</c> members (converted by <c>PostgresIncrementalFile</c>).
    /// </summary>
    public static async Task<BaseBackupStream> StartAsync(PgWireConnection connection, string label, int? maxRateKilobytes, byte[]? priorManifest,
        CancellationToken cancellationToken)
    {
        var options = new StringBuilder()
            .Append("LABEL '").Append(label.Replace("'", "''", StringComparison.Ordinal)).Append("', CHECKPOINT 'fast', WAL false, MANIFEST 'yes', TABLESPACE_MAP true");
        if (maxRateKilobytes is { } rate)
        {
            options.Append(CultureInfo.InvariantCulture, $", MAX_RATE {rate}");
        }

        if (priorManifest is not null)
        {
            await connection.CopyInAsync("UPLOAD_MANIFEST", priorManifest, cancellationToken).ConfigureAwait(false);
            options.Append(", INCREMENTAL");
        }

        await connection.SendQueryAsync($"BASE_BACKUP ({options})", cancellationToken).ConfigureAwait(false);
        var start = await ReadResultSetAsync(connection, "BASE_BACKUP", cancellationToken).ConfigureAwait(false);
        var tablespaces = await ReadResultSetAsync(connection, "BASE_BACKUP", cancellationToken).ConfigureAwait(false);
        var copy = await connection.ReadAsync(cancellationToken).ConfigureAwait(false);
        if (copy.Type == (byte)'E')
        {
            throw PgWireConnection.Error(copy.Payload.Span, $"BASE_BACKUP on PostgreSQL at {connection.Endpoint}");
        }

        if (copy.Type != (byte)'H' || start.Count != 1)
        {
            throw connection.Protocol($"'{(char)copy.Type}' where BASE_BACKUP's COPY stream should begin");
        }

        return new BaseBackupStream(connection, Lsn.Parse(PgWireConnection.Text(start[0][0])!), uint.Parse(PgWireConnection.Text(start[0][1])!, CultureInfo.InvariantCulture),
            [.. tablespaces.Select(r => new BaseBackupTablespace(PgWireConnection.Text(r[0]), PgWireConnection.Text(r[1])))]);
    }

    /// <summary>The next archive, or null once all were sent (the manifest is then in <see cref="Manifest"/>).</summary>
    public async Task<BaseBackupArchive?> NextArchiveAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var message = _pending ?? await NextCopyDataAsync(cancellationToken).ConfigureAwait(false);
            _pending = null;
            if (message is null)
            {
                return null;
            }

            switch ((char)message[0])
            {
                case 'n':
                    var text = Encoding.UTF8.GetString(message.AsSpan(1)).Split('\0');
                    return new BaseBackupArchive(text[0], text.Length > 1 ? text[1] : "", new ArchiveContent(this));
                case 'm':
                    Manifest = await ReadManifestAsync(cancellationToken).ConfigureAwait(false);
                    continue;
                case 'p':
                    continue;
                default:
                    throw _connection.Protocol($"BASE_BACKUP data '{(char)message[0]}' outside an archive");
            }
        }
    }

    /// <summary>After the last archive: the end position (where the backup becomes consistent).</summary>
    public async Task<Lsn> FinishAsync(CancellationToken cancellationToken)
    {
        if (!_copyDone || _pending is not null)
        {
            throw _connection.Protocol("BASE_BACKUP finished before all its archives were read");
        }

        var end = await ReadResultSetAsync(_connection, "BASE_BACKUP", cancellationToken).ConfigureAwait(false);
        while (true)
        {
            var message = await _connection.ReadAsync(cancellationToken).ConfigureAwait(false);
            switch ((char)message.Type)
            {
                case 'C':
                    continue;
                case 'E':
                    throw PgWireConnection.Error(message.Payload.Span, $"BASE_BACKUP on PostgreSQL at {_connection.Endpoint}");
                case 'Z':
                    return Lsn.Parse(PgWireConnection.Text(end.Single()[0])!);
                default:
                    throw _connection.Protocol($"'{(char)message.Type}' after BASE_BACKUP's end position");
            }
        }
    }

    private async Task<byte[]> ReadManifestAsync(CancellationToken cancellationToken)
    {
        var manifest = new MemoryStream();
        while (await NextCopyDataAsync(cancellationToken).ConfigureAwait(false) is { } message)
        {
            if (message[0] != (byte)'d')
            {
                _pending = message;
                break;
            }

            manifest.Write(message.AsSpan(1));
        }

        return manifest.ToArray();
    }

    /// <summary>The next CopyData payload (copied), or null at CopyDone.</summary>
    private async Task<byte[]?> NextCopyDataAsync(CancellationToken cancellationToken)
    {
        var raw = await NextRawAsync(cancellationToken).ConfigureAwait(false);
        return raw is { } payload ? payload.ToArray() : null;
    }

    /// <summary>The next CopyData payload, valid until the next read, or null at CopyDone.</summary>
    private async Task<ReadOnlyMemory<byte>?> NextRawAsync(CancellationToken cancellationToken)
    {
        if (_copyDone)
        {
            return null;
        }

        var message = await _connection.ReadAsync(cancellationToken).ConfigureAwait(false);
        switch ((char)message.Type)
        {
            case 'd':
                return message.Payload;
            case 'c':
                _copyDone = true;
                return null;
            case 'E':
                throw PgWireConnection.Error(message.Payload.Span, $"BASE_BACKUP on PostgreSQL at {_connection.Endpoint} failed");
            default:
                throw _connection.Protocol($"'{(char)message.Type}' in BASE_BACKUP's COPY stream");
        }
    }

    private static async Task<List<byte[]?[]>> ReadResultSetAsync(PgWireConnection connection, string command, CancellationToken cancellationToken)
    {
        var rows = new List<byte[]?[]>();
        while (true)
        {
            var message = await connection.ReadAsync(cancellationToken).ConfigureAwait(false);
            switch ((char)message.Type)
            {
                case 'T':
                    continue;
                case 'D':
                    rows.Add(PgWireConnection.ReadDataRow(message.Payload.Span));
                    continue;
                case 'C':
                    return rows;
                case 'E':
                    var error = PgWireConnection.Error(message.Payload.Span, $"{command} on PostgreSQL at {connection.Endpoint}");
                    throw error;
                default:
                    throw connection.Protocol($"'{(char)message.Type}' in a result set of {command}");
            }
        }
    }

    /// <summary>The tar bytes of one archive: the 'd' messages up to the next archive, the manifest or the end.</summary>
    private sealed class ArchiveContent(BaseBackupStream owner) : ReadOnlyStream
    {
        private bool _ended;

        public override int Read(Span<byte> buffer) => throw new NotSupportedException("Read BASE_BACKUP archives asynchronously.");

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            while (owner._chunk.IsEmpty)
            {
                if (_ended)
                {
                    return 0;
                }

                var next = await owner.NextRawAsync(cancellationToken).ConfigureAwait(false);
                if (next is not { } payload)
                {
                    _ended = true;
                    return 0;
                }

                switch ((char)payload.Span[0])
                {
                    case 'd':
                        owner._chunk = payload[1..];
                        break;
                    case 'p':
                        break;
                    default:
                        owner._pending = payload.ToArray();
                        _ended = true;
                        return 0;
                }
            }

            var n = Math.Min(buffer.Length, owner._chunk.Length);
            owner._chunk.Span[..n].CopyTo(buffer.Span);
            owner._chunk = owner._chunk[n..];
            return n;
        }
    }
}
