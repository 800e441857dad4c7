// Module coipc.asio: coipc for Asio services (C++20 coroutines and completion tokens).
//
// The awaitable recv/send and the waiter thread arrive with the data path; for now this
// module establishes the build contract: it includes Asio in its global fragment and is
// built with ASIO_STANDALONE, ASIO_HAS_CO_AWAIT and ASIO_HAS_STD_COROUTINE, which the
// coipc::asio target exports to every consumer.
module;
#include <asio.hpp>
export module coipc.asio;
export import coipc;

export namespace coipc::asio_support {
/// The Asio version this module was built against (ASIO_VERSION, e.g. 102201 for 1.22.1).
constexpr int asio_version = ASIO_VERSION;
}  // namespace coipc::asio_support
