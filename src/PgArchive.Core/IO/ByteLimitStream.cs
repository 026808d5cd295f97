namespace PgArchive.IO;

/// <summary>
/// A read-only stage that fails the read that takes its inner stream past <c>limit</c> bytes, with the exception
/// <c>tooLong</c> makes: whatever reads through it (a JSON parser, a buffer) never sees more.
/// </summary>
internal sealed class ByteLimitStream(Stream inner, long limit, Func<Exception> tooLong) : ReadOnlyWrapperStream(inner)
{
    private long _read;

    protected override void Observe(ReadOnlySpan<byte> bytes)
    {
        _read += bytes.Length;
        if (_read > limit)
        {
            throw tooLong();
        }
    }
}
