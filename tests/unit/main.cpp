#define BOOST_TEST_MODULE agg_unit
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>
