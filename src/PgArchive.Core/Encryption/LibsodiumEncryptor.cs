using System.Security.Cryptography;
using Geralt;
using Microsoft.Extensions.Options;
using PgArchive.IO;

namespace PgArchive.Encryption;

/// <summary>
/// libsodium's <c>crypto_secretstream_xchacha20poly1305</c> framed exactly as WAL-G frames it
/// (<c>WALG_LIBSODIUM_KEY</c>): the 24-byte header, then the plaintext in 8192-byte chunks each sealed with tag
/// MESSAGE (8209 bytes stored), then the remainder (0 to 8191 bytes) sealed with tag FINAL. The cipher is
/// libsodium's own, through Geralt's <see cref="IncrementalXChaCha20Poly1305"/>.
/// Reading insists on the FINAL chunk and on nothing after it, so a stream cut anywhere, including at a chunk
/// boundary, fails; a wrong key or a changed byte fails authentication. Failures are
/// <see cref="InvalidDataException"/>s, which callers report with the object's name.
/// </summary>
public sealed class LibsodiumEncryptor : IEncryptor
{
    /// <summary>Plaintext bytes per chunk, as WAL-G writes them.</summary>
    public const int ChunkSize = 8192;

    private const int HeaderSize = IncrementalXChaCha20Poly1305.HeaderSize;
    private const int TagSize = IncrementalXChaCha20Poly1305.TagSize;
    private const int SealedChunkSize = ChunkSize + TagSize;

    private readonly byte[] _key;

    /// <summary>Creates the encryptor, reading the key from the options.</summary>
    /// <exception cref="PgArchiveConfigurationException">The key is missing, unreadable or of the wrong size.</exception>
    public LibsodiumEncryptor(IOptions<LibsodiumEncryptorOptions> options)
        : this(options?.Value ?? throw new ArgumentNullException(nameof(options)))
    {
    }

    /// <summary>Creates the encryptor, reading the key from the options.</summary>
    /// <exception cref="PgArchiveConfigurationException">The key is missing, unreadable or of the wrong size.</exception>
    public LibsodiumEncryptor(LibsodiumEncryptorOptions options)
    {
        _key = LibsodiumKey.Load(options);
    }

    /// <summary>Creates the encryptor from a raw 32-byte key.</summary>
    public LibsodiumEncryptor(ReadOnlySpan<byte> key)
    {
        if (key.Length != LibsodiumKey.Size)
        {
            throw new ArgumentException($"A libsodium key is {LibsodiumKey.Size} bytes, not {key.Length}.", nameof(key));
        }

        _key = key.ToArray();
    }

    /// <summary>
    /// Names the key without revealing it (a domain-separated SHA-256 of it, truncated): two encryptors with the
    /// same identity write objects the same key decrypts.
    /// </summary>
    public string KeyIdentity => "libsodium:" + Convert.ToHexStringLower(
        System.Security.Cryptography.SHA256.HashData([.. "pgarchive key identity\0"u8, .. _key]).AsSpan(0, 16));

    /// <inheritdoc />
    public Stream CreateEncryptionStream(Stream destination, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(destination);
        return new EncryptStream(destination, _key, leaveOpen);
    }

    /// <inheritdoc />
    public Stream CreateDecryptionStream(Stream source, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(source);
        return new DecryptStream(source, _key, leaveOpen);
    }

    /// <summary>Buffers plaintext into chunks; a full chunk is sealed and written at once, the rest on dispose.</summary>
    private sealed class EncryptStream(Stream destination, byte[] key, bool leaveOpen) : WriteOnlyStream
    {
        private readonly byte[] _plain = new byte[ChunkSize];
        private readonly byte[] _sealed = new byte[SealedChunkSize];
        private IncrementalXChaCha20Poly1305? _cipher;
        private int _filled;
        private bool _disposed;

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_cipher is null)
            {
                destination.Write(Start());
            }

            while (!buffer.IsEmpty)
            {
                var count = Take(buffer);
                buffer = buffer[count..];
                if (_filled == ChunkSize)
                {
                    destination.Write(Seal(IncrementalXChaCha20Poly1305.ChunkFlag.Message).Span);
                }
            }
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_cipher is null)
            {
                await destination.WriteAsync(Start(), cancellationToken).ConfigureAwait(false);
            }

            while (!buffer.IsEmpty)
            {
                var count = Take(buffer.Span);
                buffer = buffer[count..];
                if (_filled == ChunkSize)
                {
                    await destination.WriteAsync(Seal(IncrementalXChaCha20Poly1305.ChunkFlag.Message), cancellationToken).ConfigureAwait(false);
                }
            }
        }

        private byte[] Start()
        {
            var header = new byte[HeaderSize];
            _cipher = new IncrementalXChaCha20Poly1305(header, key, encryption: true);
            return header;
        }

        private int Take(ReadOnlySpan<byte> buffer)
        {
            var count = Math.Min(buffer.Length, ChunkSize - _filled);
            buffer[..count].CopyTo(_plain.AsSpan(_filled));
            _filled += count;
            return count;
        }

        private ReadOnlyMemory<byte> Seal(IncrementalXChaCha20Poly1305.ChunkFlag flag)
        {
            var length = _filled + TagSize;
            _cipher!.EncryptChunk(_sealed.AsSpan(0, length), _plain.AsSpan(0, _filled), flag);
            _filled = 0;
            return _sealed.AsMemory(0, length);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_disposed)
            {
                try
                {
                    if (_cipher is null)
                    {
                        destination.Write(Start());
                    }

                    destination.Write(Seal(IncrementalXChaCha20Poly1305.ChunkFlag.Final).Span);
                    destination.Flush();
                }
                finally
                {
                    Release();
                    if (!leaveOpen)
                    {
                        destination.Dispose();
                    }
                }
            }

            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            if (!_disposed)
            {
                try
                {
                    if (_cipher is null)
                    {
                        await destination.WriteAsync(Start()).ConfigureAwait(false);
                    }

                    await destination.WriteAsync(Seal(IncrementalXChaCha20Poly1305.ChunkFlag.Final)).ConfigureAwait(false);
                    await destination.FlushAsync().ConfigureAwait(false);
                }
                finally
                {
                    Release();
                    if (!leaveOpen)
                    {
                        await destination.DisposeAsync().ConfigureAwait(false);
                    }
                }
            }

            await base.DisposeAsync().ConfigureAwait(false);
        }

        private void Release()
        {
            _disposed = true;
            _cipher?.Dispose();
            CryptographicOperations.ZeroMemory(_plain);
        }
    }

    /// <summary>Reads the header, then one sealed chunk at a time; hands out plaintext only once its chunk authenticated.</summary>
    private sealed class DecryptStream(Stream source, byte[] key, bool leaveOpen) : ReadOnlyStream
    {
        private readonly byte[] _sealed = new byte[SealedChunkSize];
        private readonly byte[] _plain = new byte[ChunkSize];
        private IncrementalXChaCha20Poly1305? _cipher;
        private int _start;
        private int _end;
        private long _chunks;
        private bool _final;

        public override int Read(Span<byte> buffer)
        {
            if (buffer.IsEmpty)
            {
                return 0;
            }

            while (_start == _end && !_final)
            {
                if (_cipher is null)
                {
                    Start(source.ReadAtLeast(_sealed.AsSpan(0, HeaderSize), HeaderSize, throwOnEndOfStream: false));
                }

                Open(source.ReadAtLeast(_sealed, SealedChunkSize, throwOnEndOfStream: false));
                if (_final)
                {
                    EnsureEnd(source.Read(_sealed.AsSpan(0, 1)));
                }
            }

            return Copy(buffer);
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (buffer.IsEmpty)
            {
                return 0;
            }

            while (_start == _end && !_final)
            {
                if (_cipher is null)
                {
                    Start(await source.ReadAtLeastAsync(_sealed.AsMemory(0, HeaderSize), HeaderSize, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false));
                }

                Open(await source.ReadAtLeastAsync(_sealed, SealedChunkSize, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false));
                if (_final)
                {
                    EnsureEnd(await source.ReadAsync(_sealed.AsMemory(0, 1), cancellationToken).ConfigureAwait(false));
                }
            }

            return Copy(buffer.Span);
        }

        private void Start(int read)
        {
            if (read < HeaderSize)
            {
                throw new InvalidDataException(read == 0
                    ? "The object is empty, so it is not libsodium-encrypted (an encrypted object has at least a 24-byte header and a 17-byte final chunk)."
                    : $"The object is {read} bytes long, shorter than the 24-byte libsodium header: it is truncated or not libsodium-encrypted.");
            }

            try
            {
                _cipher = new IncrementalXChaCha20Poly1305(_sealed.AsSpan(0, HeaderSize), key, encryption: false);
            }
            catch (CryptographicException ex)
            {
                throw new InvalidDataException("The libsodium header is invalid: the object is corrupt or not libsodium-encrypted.", ex);
            }
        }

        private void Open(int read)
        {
            if (read < TagSize)
            {
                throw new InvalidDataException(read == 0
                    ? $"The libsodium stream ends after {_chunks} chunk(s) without its FINAL chunk: the object is truncated."
                    : $"The libsodium stream ends inside chunk {_chunks + 1} ({read} bytes, less than the 17-byte tag): the object is truncated.");
            }

            IncrementalXChaCha20Poly1305.ChunkFlag flag;
            try
            {
                flag = _cipher!.DecryptChunk(_plain.AsSpan(0, read - TagSize), _sealed.AsSpan(0, read));
            }
            catch (CryptographicException ex)
            {
                throw new InvalidDataException(_chunks == 0
                    ? "The first libsodium chunk fails authentication: the key differs from the one the object was written with, or the object is corrupt or not libsodium-encrypted."
                    : $"Libsodium chunk {_chunks + 1} fails authentication: the object was changed or truncated.", ex);
            }

            _chunks++;
            _start = 0;
            _end = read - TagSize;
            _final = flag == IncrementalXChaCha20Poly1305.ChunkFlag.Final;
            if (!_final && read < SealedChunkSize)
            {
                // Only the FINAL chunk may be short; a short MESSAGE chunk means the FINAL one is missing.
                throw new InvalidDataException($"The libsodium stream ends after {_chunks} chunk(s) without its FINAL chunk: the object is truncated.");
            }
        }

        private static void EnsureEnd(int read)
        {
            if (read != 0)
            {
                throw new InvalidDataException("Bytes follow the libsodium FINAL chunk: the object is corrupt.");
            }
        }

        private int Copy(Span<byte> buffer)
        {
            var count = Math.Min(buffer.Length, _end - _start);
            _plain.AsSpan(_start, count).CopyTo(buffer);
            _start += count;
            return count;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                Release();
                if (!leaveOpen)
                {
                    source.Dispose();
                }
            }

            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            Release();
            if (!leaveOpen)
            {
                await source.DisposeAsync().ConfigureAwait(false);
            }

            await base.DisposeAsync().ConfigureAwait(false);
        }

        private void Release()
        {
            _cipher?.Dispose();
            _cipher = null;
            CryptographicOperations.ZeroMemory(_plain);
        }
    }
}
