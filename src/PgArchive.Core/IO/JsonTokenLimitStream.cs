namespace PgArchive.IO;

/// <summary>
/// A read-only stage that follows JSON text as a parser consumes it and fails the read that makes one token (a string,
/// or a number or literal) longer than <c>limit</c> bytes, with the exception <c>tooLong</c> makes from the offset where
/// the token starts. A parser holds a token whole in its buffer, so this bounds what any single value costs.
/// </summary>
internal sealed class JsonTokenLimitStream(Stream inner, long limit, Func<long, Exception> tooLong) : ReadOnlyWrapperStream(inner)
{
    private long _position;
    private long _tokenStart;
    private long _tokenLength;
    private bool _inString;
    private bool _escaped;

    protected override void Observe(ReadOnlySpan<byte> bytes)
    {
        var i = 0;
        while (i < bytes.Length)
        {
            if (_inString)
            {
                if (_escaped)
                {
                    _escaped = false;
                    i++;
                    _tokenLength++;
                }

                var stop = bytes[i..].IndexOfAny((byte)'"', (byte)'\\');
                var taken = stop < 0 ? bytes.Length - i : stop + 1;
                _tokenLength += taken;
                i += taken;
                if (stop >= 0)
                {
                    _escaped = bytes[i - 1] == '\\';
                    _inString = _escaped;
                }
            }
            else
            {
                switch (bytes[i])
                {
                    case (byte)'"':
                        (_inString, _tokenStart, _tokenLength) = (true, _position + i, 1);
                        break;
                    case (byte)'{' or (byte)'}' or (byte)'[' or (byte)']' or (byte)':' or (byte)',' or (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n':
                        _tokenLength = 0;
                        break;
                    default:
                        _tokenStart = _tokenLength == 0 ? _position + i : _tokenStart;
                        _tokenLength++;
                        break;
                }

                i++;
            }

            if (_tokenLength > limit)
            {
                throw tooLong(_tokenStart);
            }
        }

        _position += bytes.Length;
    }
}
