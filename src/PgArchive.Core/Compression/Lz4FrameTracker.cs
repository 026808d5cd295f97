using System.Buffers.Binary;
using PgArchive.IO;

namespace PgArchive.Compression;

/// <summary>
/// Passes an LZ4 object's bytes to the decoder unchanged while following its frame structure (header, block
/// sizes, end mark) far enough to pick out each frame's content checksum, which K4os reads but never checks.
/// It never fails on malformed input: the decoder reports that; the tracker only stops tracking.
/// </summary>
internal sealed class Lz4FrameTracker(Stream inner, bool leaveOpen) : ReadOnlyWrapperStream(inner, leaveOpen)
{
    private const uint FrameMagic = 0x184D2204;
    private const byte ContentChecksumFlag = 0x04;
    private const byte BlockChecksumFlag = 0x10;
    private const byte ContentSizeFlag = 0x08;
    private const byte DictionaryIdFlag = 0x01;

    private readonly byte[] _field = new byte[16];
    private State _state = State.Magic;
    private int _need = 4;
    private int _have;
    private long _skip;
    private byte _flags;
    private State _afterSkip = State.BlockSize;

    private enum State { Magic, SkippableSize, Skip, Descriptor, HeaderRest, BlockSize, ContentChecksum, Lost }

    /// <summary>Frames whose end mark has been read.</summary>
    public int CompletedFrames { get; private set; }

    /// <summary>The content checksum of the last completed frame, when it has one.</summary>
    public uint? LastContentChecksum { get; private set; }

    /// <summary>False once the bytes stopped looking like LZ4 frames (the decoder reports why).</summary>
    public bool Tracking => _state != State.Lost;

    /// <summary>True when <paramref name="exception"/> came from the stream below (storage, decryption), not the decoder.</summary>
    public bool Threw(Exception exception) => ReferenceEquals(exception, _innerFailure);

    private Exception? _innerFailure;

    public override int Read(Span<byte> buffer)
    {
        int read;
        try
        {
            read = Inner.Read(buffer);
        }
        catch (Exception ex)
        {
            _innerFailure = ex;
            throw;
        }

        Follow(buffer[..read]);
        return read;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int read;
        try
        {
            read = await Inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _innerFailure = ex;
            throw;
        }

        Follow(buffer.Span[..read]);
        return read;
    }

    private void Follow(ReadOnlySpan<byte> bytes)
    {
        while (bytes.Length > 0 && _state != State.Lost)
        {
            if (_state == State.Skip)
            {
                var skipped = (int)Math.Min(_skip, bytes.Length);
                _skip -= skipped;
                bytes = bytes[skipped..];
                if (_skip == 0)
                {
                    Expect(_afterSkip, 4);
                }

                continue;
            }

            var take = Math.Min(_need - _have, bytes.Length);
            bytes[..take].CopyTo(_field.AsSpan(_have));
            _have += take;
            bytes = bytes[take..];
            if (_have == _need)
            {
                Complete(_field.AsSpan(0, _need));
            }
        }
    }

    private void Complete(ReadOnlySpan<byte> field)
    {
        switch (_state)
        {
            case State.Magic:
                var magic = BinaryPrimitives.ReadUInt32LittleEndian(field);
                if (magic == FrameMagic)
                {
                    Expect(State.Descriptor, 2);
                }
                else if ((magic & 0xFFFFFFF0) == 0x184D2A50)
                {
                    Expect(State.SkippableSize, 4);
                }
                else
                {
                    _state = State.Lost;
                }

                break;
            case State.SkippableSize:
                // A skippable frame's payload is skipped like a block's; after it comes the next frame's magic.
                _skip = BinaryPrimitives.ReadUInt32LittleEndian(field);
                SkipThen(State.Magic);
                break;
            case State.Descriptor:
                _flags = field[0];
                var rest = 1 + ((_flags & ContentSizeFlag) != 0 ? 8 : 0) + ((_flags & DictionaryIdFlag) != 0 ? 4 : 0);
                Expect(State.HeaderRest, rest);
                break;
            case State.HeaderRest:
                Expect(State.BlockSize, 4);
                break;
            case State.BlockSize:
                var size = BinaryPrimitives.ReadUInt32LittleEndian(field);
                if (size == 0)
                {
                    if ((_flags & ContentChecksumFlag) != 0)
                    {
                        Expect(State.ContentChecksum, 4);
                    }
                    else
                    {
                        FrameEnded(null);
                    }
                }
                else
                {
                    _skip = (size & 0x7FFFFFFF) + ((_flags & BlockChecksumFlag) != 0 ? 4 : 0);
                    SkipThen(State.BlockSize);
                }

                break;
            case State.ContentChecksum:
                FrameEnded(BinaryPrimitives.ReadUInt32LittleEndian(field));
                break;
            default:
                break;
        }
    }

    private void FrameEnded(uint? checksum)
    {
        CompletedFrames++;
        LastContentChecksum = checksum;
        Expect(State.Magic, 4);
    }

    private void SkipThen(State next)
    {
        _afterSkip = next;
        if (_skip == 0)
        {
            Expect(next, 4);
        }
        else
        {
            _state = State.Skip;
        }
    }

    private void Expect(State state, int bytes)
    {
        _state = state;
        _need = bytes;
        _have = 0;
    }
}
