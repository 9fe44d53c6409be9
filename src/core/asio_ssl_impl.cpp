// Asio's TLS layer (separate compilation, like asio_impl.cpp), in its own library so that only
// the transport that speaks TLS links OpenSSL's libssl.
#include <boost/asio/ssl/impl/src.hpp>
