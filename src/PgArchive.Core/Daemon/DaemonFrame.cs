using System.Buffers.Binary;
using System.Text;

namespace PgArchive.Daemon;

/// <summary>
/// The framing of WAL-G's daemon protocol: one byte of <see cref="DaemonMessageType"/>, the message's total length
/// (header included) as a big-endian uint16, then the body. A request with one argument carries it raw; with two or more,
/// the body is a count byte and each argument as a big-endian uint16 length and its UTF-8 bytes (WAL-G's ArgsToBytes).
/// A reply is the type byte alone. Every length is checked before anything is allocated: at most 64 KiB per message.
/// </summary>
internal static class DaemonFrame
{
    /// <summary>The header: type byte and uint16 length.</summary>
    public const int HeaderSize = 3;

    /// <summary>The largest message the uint16 length can state, header included.</summary>
    public const int MaxMessageSize = ushort.MaxValue;

    /// <summary>A request of <paramref name="type"/> with <paramref name="arguments"/>, laid out as WAL-G's client lays it out.</summary>
    public static byte[] Encode(DaemonMessageType type, params IReadOnlyList<string> arguments)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        var body = arguments.Count switch
        {
            0 => [],
            1 => Encoding.UTF8.GetBytes(arguments[0]),
            _ => EncodeArguments(arguments),
        };
        if (body.Length + HeaderSize > MaxMessageSize)
        {
            throw new DaemonProtocolException($"A daemon message holds at most {MaxMessageSize - HeaderSize} bytes of arguments; this one has {body.Length}.");
        }

        var message = new byte[HeaderSize + body.Length];
        message[0] = (byte)type;
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(1, 2), (ushort)message.Length);
        body.CopyTo(message, HeaderSize);
        return message;
    }

    /// <summary>WAL-G's ArgsToBytes: a count byte, then each argument's big-endian uint16 length and bytes, with its limits.</summary>
    public static byte[] EncodeArguments(IReadOnlyList<string> arguments)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        if (arguments.Count > byte.MaxValue)
        {
            throw new DaemonProtocolException($"A daemon message carries at most {byte.MaxValue} arguments; this one has {arguments.Count}.");
        }

        using var body = new MemoryStream();
        body.WriteByte((byte)arguments.Count);
        Span<byte> length = stackalloc byte[2];
        foreach (var argument in arguments)
        {
            var bytes = Encoding.UTF8.GetBytes(argument);
            if (bytes.Length > ushort.MaxValue)
            {
                throw new DaemonProtocolException($"A daemon message argument holds at most {ushort.MaxValue} bytes; one has {bytes.Length}.");
            }

            BinaryPrimitives.WriteUInt16BigEndian(length, (ushort)bytes.Length);
            body.Write(length);
            body.Write(bytes);
            // WAL-G's bound on the running total, kept so that what it refuses to send is refused here too.
            if (body.Length > ushort.MaxValue - 1 - (2 * arguments.Count))
            {
                throw new DaemonProtocolException($"The arguments of a daemon message hold at most {ushort.MaxValue - 1 - (2 * arguments.Count)} bytes in all.");
            }
        }

        return body.ToArray();
    }

    /// <summary>WAL-G's BytesToArgs: the arguments of a framed body; a body that is empty, truncated or has bytes left over is corrupt.</summary>
    public static IReadOnlyList<string> DecodeArguments(ReadOnlySpan<byte> body)
    {
        if (body.IsEmpty)
        {
            throw new DaemonProtocolException("Corrupted daemon message body: it is empty.");
        }

        var count = body[0];
        var arguments = new List<string>(count);
        var at = 1;
        for (var i = 0; i < count; i++)
        {
            if (at + 2 > body.Length)
            {
                throw new DaemonProtocolException($"Corrupted daemon message body: argument {i + 1} of {count} has no length ({body.Length} bytes).");
            }

            var length = BinaryPrimitives.ReadUInt16BigEndian(body.Slice(at, 2));
            at += 2;
            if (at + length > body.Length)
            {
                throw new DaemonProtocolException($"Corrupted daemon message body: argument {i + 1} of {count} states {length} bytes, {body.Length - at} follow.");
            }

            arguments.Add(DecodeText(body.Slice(at, length)));
            at += length;
        }

        return at == body.Length
            ? arguments
            : throw new DaemonProtocolException($"Corrupted daemon message body: {body.Length - at} bytes follow its {count} arguments.");
    }

    /// <summary>A path or name as UTF-8; invalid UTF-8 is corrupt (never replaced by another character that names another file).</summary>
    public static string DecodeText(ReadOnlySpan<byte> bytes)
    {
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException ex)
        {
            throw new DaemonProtocolException("Corrupted daemon message body: an argument is not UTF-8.", ex);
        }
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Reads one message from <paramref name="stream"/>: its type and body. Null when the stream ends before a message
    /// starts (the peer closed the connection between requests).
    /// </summary>
    public static async Task<(DaemonMessageType Type, byte[] Body)?> ReadAsync(Stream stream, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var header = new byte[HeaderSize];
        var read = await stream.ReadAtLeastAsync(header, HeaderSize, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        if (read == 0)
        {
            return null;
        }

        if (read < HeaderSize)
        {
            throw new DaemonProtocolException($"Truncated daemon message: the connection ended after {read} of its {HeaderSize} header bytes.");
        }

        var length = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(1, 2));
        if (length < HeaderSize)
        {
            throw new DaemonProtocolException($"Daemon message too short: its length is {length}, less than its {HeaderSize}-byte header.");
        }

        var body = new byte[length - HeaderSize];
        read = await stream.ReadAtLeastAsync(body, body.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        return read < body.Length
            ? throw new DaemonProtocolException($"Truncated daemon message: the connection ended after {read} of its {body.Length} body bytes.")
            : ((DaemonMessageType)header[0], body);
    }
}
